#include "filters/promql/promql.h"
