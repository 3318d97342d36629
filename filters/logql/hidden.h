// Hidden-label references in a LogQL tree. Internal to filters/logql.
#pragma once

#include <string_view>

#include "common/status.h"
#include "filters/logql/ast.h"
#include "filters/scope/scope.h"

namespace obsgate::filters::logql::detail {

// InvalidArgument naming the first hidden label the expression refers to, reads, or produces.
Status check_hidden(const Expr& e, const Scope& scope);

// The same for a Go text/template (line_format, label_format): `.name` fields that are hidden,
// and (while any label is hidden) a bare `.` or `$`, which would hand over every label.
Status check_template(std::string_view tmpl, const Scope& scope);

}  // namespace obsgate::filters::logql::detail
