#include "filters/logql/hidden.h"

#include <re2/re2.h>

namespace obsgate::filters::logql::detail {
namespace {

bool ident_char(char c) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

Status hidden_error(std::string_view label, std::string_view where) {
  return Status::invalid_argument("label '" + std::string(label) +
                                  "' is hidden and may not be used (" + std::string(where) + ")");
}

class Checker {
 public:
  explicit Checker(const Scope& s) : scope_(s) {}

  Status name(std::string_view n, std::string_view where) const {
    return scope_.is_hidden(n) ? hidden_error(n, where) : Status();
  }

  Status labels(const std::vector<std::string>& ls, std::string_view where) const {
    for (const std::string& l : ls) {
      if (Status st = name(l, where); !st.ok()) {
        return st;
      }
    }
    return {};
  }

  Status filter(const LabelFilter& f) const {
    if (f.kind == LabelFilter::Kind::kAnd || f.kind == LabelFilter::Kind::kOr) {
      if (Status st = filter(*f.left); !st.ok()) {
        return st;
      }
      return filter(*f.right);
    }
    return name(f.name, "label filter");
  }

  Status parser(const ParserStage& p) const {
    for (const Extraction& e : p.extractions) {
      if (Status st = name(e.label, "parser extraction"); !st.ok()) {
        return st;
      }
    }
    if (p.kind == ParserKind::kRegexp) {
      for (const std::string& group : p.captures) {
        if (Status st = name(group, "regexp capture"); !st.ok()) {
          return st;
        }
      }
      if (p.captures.empty()) {  // a hand-built tree: derive the names here
        RE2 re(p.param.value, RE2::Quiet);
        for (const auto& [group, idx] : re.NamedCapturingGroups()) {
          if (Status st = name(group, "regexp capture"); !st.ok()) {
            return st;
          }
        }
      }
    } else if (p.kind == ParserKind::kPattern) {
      const std::string& s = p.param.value;
      for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '<') {
          continue;
        }
        size_t j = i + 1;
        while (j < s.size() && ident_char(s[j])) {
          ++j;
        }
        if (j < s.size() && s[j] == '>' && j > i + 1) {
          if (Status st = name(std::string_view(s).substr(i + 1, j - i - 1), "pattern capture");
              !st.ok()) {
            return st;
          }
        }
      }
    }
    return {};
  }

  // One overload per stage type: a new stage type fails to compile rather than pass unchecked.
  Status stage(const Stage& s) const {
    struct V {
      const Checker& c;
      Status operator()(const LineFilter&) const { return {}; }
      Status operator()(const Decolorize&) const { return {}; }
      Status operator()(const ParserStage& p) const { return c.parser(p); }
      Status operator()(const LabelFilterStage& f) const { return c.filter(*f.filter); }
      Status operator()(const LineFormat& lf) const {
        return check_template(lf.tmpl.value, c.scope_);
      }
      Status operator()(const LabelFormat& lf) const {
        for (const LabelFormatItem& it : lf.items) {
          if (Status st = c.name(it.dst, "label_format"); !st.ok()) {
            return st;
          }
          Status st = it.rename ? c.name(it.source, "label_format")
                                : check_template(it.tmpl.value, c.scope_);
          if (!st.ok()) {
            return st;
          }
        }
        return {};
      }
      Status operator()(const DropKeep& dk) const {
        for (const NamedMatcher& m : dk.items) {
          if (Status st = c.name(m.name, dk.keep ? "keep" : "drop"); !st.ok()) {
            return st;
          }
        }
        return {};
      }
    };
    return std::visit(V{*this}, s);
  }

  Status log(const LogQuery& q) const {
    for (const LabelMatcher& m : q.selector.matchers) {
      if (Status st = name(m.name, "stream selector"); !st.ok()) {
        return st;
      }
    }
    for (const Stage& s : q.pipeline) {
      if (Status st = stage(s); !st.ok()) {
        return st;
      }
    }
    return {};
  }

  Status expr(const Expr& e) const {
    if (const auto* q = std::get_if<LogQuery>(&e.node)) {
      return log(*q);
    }
    if (const auto* r = std::get_if<RangeAggregation>(&e.node)) {
      if (Status st = log(r->range.log); !st.ok()) {
        return st;
      }
      if (r->range.unwrap) {
        if (Status st = name(r->range.unwrap->label, "unwrap"); !st.ok()) {
          return st;
        }
        for (const LabelFilterStage& f : r->range.unwrap->post_filters) {
          if (Status st = filter(*f.filter); !st.ok()) {
            return st;
          }
        }
      }
      return r->grouping ? labels(r->grouping->labels, "grouping") : Status();
    }
    if (const auto* v = std::get_if<VectorAggregation>(&e.node)) {
      if (v->grouping) {
        if (Status st = labels(v->grouping->labels, "grouping"); !st.ok()) {
          return st;
        }
      }
      return expr(*v->arg);
    }
    if (const auto* b = std::get_if<BinaryOp>(&e.node)) {
      if (Status st = labels(b->matching, "vector matching"); !st.ok()) {
        return st;
      }
      if (Status st = labels(b->include, "vector matching"); !st.ok()) {
        return st;
      }
      if (Status st = expr(*b->lhs); !st.ok()) {
        return st;
      }
      return expr(*b->rhs);
    }
    if (const auto* l = std::get_if<LabelReplace>(&e.node)) {
      if (Status st = name(l->dst.value, "label_replace"); !st.ok()) {
        return st;
      }
      if (Status st = name(l->src.value, "label_replace"); !st.ok()) {
        return st;
      }
      return expr(*l->arg);
    }
    if (std::holds_alternative<Literal>(e.node) || std::holds_alternative<VectorLiteral>(e.node)) {
      return {};
    }
    return Status::internal("unexpected node in a LogQL tree");  // fail closed
  }

 private:
  const Scope& scope_;
};

}  // namespace

Status check_hidden(const Expr& e, const Scope& scope) {
  if (scope.hidden_labels.empty()) {
    return {};
  }
  return Checker(scope).expr(e);
}

Status check_template(std::string_view t, const Scope& scope) {
  if (scope.hidden_labels.empty()) {
    return {};
  }
  size_t i = 0;
  while ((i = t.find("{{", i)) != std::string_view::npos) {
    i += 2;
    // Inside one action, up to its closing "}}" outside string literals.
    while (i < t.size() && !(t[i] == '}' && i + 1 < t.size() && t[i + 1] == '}')) {
      const char c = t[i];
      if (c == '"' || c == '`' || c == '\'') {
        size_t j = i + 1;
        while (j < t.size() && t[j] != c) {
          j += (c != '`' && t[j] == '\\') ? 2 : 1;
        }
        i = j + 1;
        continue;
      }
      if (c == '$') {
        const bool var = i + 1 < t.size() && (ident_char(t[i + 1]) || t[i + 1] == '.');
        if (!var) {
          return Status::invalid_argument(
              "template uses the whole label set ($) while some labels are hidden");
        }
        ++i;
        continue;
      }
      if (c == '.') {
        const bool in_number = i > 0 && t[i - 1] >= '0' && t[i - 1] <= '9';
        size_t j = i + 1;
        while (j < t.size() && ident_char(t[j])) {
          ++j;
        }
        if (j == i + 1 && !in_number) {
          return Status::invalid_argument(
              "template uses the whole label set (.) while some labels are hidden");
        }
        if (!in_number && scope.is_hidden(t.substr(i + 1, j - i - 1))) {
          return hidden_error(t.substr(i + 1, j - i - 1), "template");
        }
        i = j;
        continue;
      }
      if (ident_char(c)) {  // skip a whole word so "a.b" digits logic stays simple
        while (i < t.size() && ident_char(t[i])) {
          ++i;
        }
        continue;
      }
      ++i;
    }
    i += 2;
  }
  return {};
}

}  // namespace obsgate::filters::logql::detail
