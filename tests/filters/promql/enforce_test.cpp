#include "tests/filters/promql/test_common.h"
