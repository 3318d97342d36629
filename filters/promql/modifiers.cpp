// Postfix modifiers: [range], [range:step], offset and @, with Prometheus's placement rules.
#include <cmath>

#include "filters/promql/parser.h"

namespace obsgate::filters::promql {

NodeId Parser::parse_postfix(NodeId e) {
  while (!failed_) {
    switch (cur_.kind) {
      case Tok::kLBracket: parse_range_or_subquery(e); break;
      case Tok::kOffset: parse_offset(e); break;
      case Tok::kAt: parse_at(e); break;
      case Tok::kAnchored:
      case Tok::kSmoothed:
        fail(cur_.pos, std::string(cur_.kind == Tok::kAnchored ? "anchored" : "smoothed") +
                           " modifier is experimental and not enabled");
        break;
      default: return e;
    }
  }
  return kNoNode;
}

// A duration literal where Prometheus takes number_duration_literal: "5m", or a plain number of
// seconds. Rounded to milliseconds (Prometheus's printing precision).
bool Parser::duration_token(int64_t& ms, bool allow_sign) {
  bool neg = false;
  if (allow_sign && (cur_.kind == Tok::kSub || cur_.kind == Tok::kAdd)) {
    neg = cur_.kind == Tok::kSub;
    advance();
  }
  if (cur_.kind == Tok::kDuration) {
    if (const char* err = parse_duration(cur_.text, ms)) {
      fail(cur_.pos, err);
      return false;
    }
  } else if (cur_.kind == Tok::kNumber) {
    double v = 0;
    if (!number_token(cur_, v)) {
      return false;
    }
    double m = std::round(v * 1000);
    if (!std::isfinite(m) || m < 0 || m >= 9.2e18) {
      fail(cur_.pos, "duration out of range");
      return false;
    }
    ms = static_cast<int64_t>(m);
  } else {
    unexpected(nullptr, "duration");
    return false;
  }
  if (neg) {
    ms = -ms;
  }
  advance();
  return true;
}

void Parser::parse_range_or_subquery(NodeId& e) {
  const uint32_t lb = cur_.pos;
  advance();
  int64_t range = 0;
  if (!duration_token(range, false)) {
    return;
  }
  if (range <= 0) {
    fail(lb, "duration must be greater than 0");
    return;
  }
  Node n;
  n.pos = ast_.node(e).pos;
  n.range_ms = range;
  n.a = e;
  if (cur_.kind == Tok::kRBracket) {
    const Node& vs = ast_.node(e);
    if (vs.kind != NodeKind::kVectorSelector) {
      fail(lb, "ranges only allowed for vector selectors");
      return;
    }
    if (vs.has_offset) {
      fail(lb, "no offset modifiers allowed before range");
      return;
    }
    if (vs.at != AtKind::kNone) {
      fail(lb, "no @ modifiers allowed before range");
      return;
    }
    advance();
    n.kind = NodeKind::kMatrixSelector;
    e = add_node(n);
    return;
  }
  if (cur_.kind != Tok::kColon) {
    unexpected("subquery or range", "\":\" or \"]\"");
    return;
  }
  advance();
  if (cur_.kind != Tok::kRBracket) {
    if (!duration_token(n.step_ms, false)) {
      return;
    }
  }
  if (!expect(Tok::kRBracket, "\"]\"", "subquery selector")) {
    return;
  }
  ValueType t = type_of(ast_, e);
  if (t != ValueType::kVector) {
    fail(lb, "subquery is only allowed on instant vector, got " + std::string(type_name(t)));
    return;
  }
  n.kind = NodeKind::kSubquery;
  e = add_node(n);
}

void Parser::parse_offset(NodeId e) {
  const uint32_t pos = cur_.pos;
  advance();
  int64_t off = 0;
  if (!duration_token(off, true)) {
    return;
  }
  Node* target = &ast_.node(e);
  if (target->kind == NodeKind::kMatrixSelector) {
    target = &ast_.node(target->a);
  }
  if (target->kind != NodeKind::kVectorSelector && target->kind != NodeKind::kSubquery) {
    fail(pos, "offset modifier must be preceded by an instant vector selector or range vector "
              "selector or a subquery");
    return;
  }
  if (target->has_offset) {
    fail(pos, "offset may not be set multiple times");
    return;
  }
  target->has_offset = true;
  target->offset_ms = off;
}

void Parser::parse_at(NodeId e) {
  const uint32_t pos = cur_.pos;
  advance();
  AtKind kind = AtKind::kTimestamp;
  int64_t at_ms = 0;
  if (cur_.kind == Tok::kIdentifier && (equals_lower(cur_.text, "start") || equals_lower(cur_.text, "end"))) {
    kind = equals_lower(cur_.text, "start") ? AtKind::kStart : AtKind::kEnd;
    advance();
    if (!expect(Tok::kLParen, "\"(\"", "@") || !expect(Tok::kRParen, "\")\"", "@")) {
      return;
    }
  } else {
    bool neg = false;
    if (cur_.kind == Tok::kSub || cur_.kind == Tok::kAdd) {
      neg = cur_.kind == Tok::kSub;
      advance();
    }
    double v = 0;
    if (cur_.kind != Tok::kNumber && cur_.kind != Tok::kDuration &&
        cur_.kind != Tok::kIdentifier) {
      unexpected("@", "timestamp");
      return;
    }
    if (cur_.kind == Tok::kIdentifier && !equals_lower(cur_.text, "inf") && !equals_lower(cur_.text, "nan")) {
      unexpected("@", "timestamp");
      return;
    }
    if (!number_token(cur_, v)) {
      return;
    }
    v = neg ? -v : v;
    double m = std::round(v * 1000);
    if (!std::isfinite(m) || m >= 9.2e18 || m <= -9.2e18) {
      fail(cur_.pos, "timestamp out of bounds for @ modifier");
      return;
    }
    at_ms = static_cast<int64_t>(m);
    advance();
  }
  Node* target = &ast_.node(e);
  if (target->kind == NodeKind::kMatrixSelector) {
    target = &ast_.node(target->a);
  }
  if (target->kind != NodeKind::kVectorSelector && target->kind != NodeKind::kSubquery) {
    fail(pos, "@ modifier must be preceded by an instant vector selector or range vector "
              "selector or a subquery");
    return;
  }
  if (target->at != AtKind::kNone) {
    fail(pos, "@ <timestamp> may not be set multiple times");
    return;
  }
  target->at = kind;
  target->at_ms = at_ms;
}

}  // namespace obsgate::filters::promql
