// Selectors and pipeline stages (line filters, parsers, formatting, drop/keep).
#include <re2/re2.h>

#include "filters/logql/parser.h"
#include "filters/logql/values.h"

namespace obsgate::filters::logql::detail {
namespace {

bool line_op(Tok k, LineOp& op) {
  switch (k) {
    case Tok::kPipeExact: op = LineOp::kContains; return true;
    case Tok::kNeq: op = LineOp::kNotContains; return true;
    case Tok::kPipeMatch: op = LineOp::kRegex; return true;
    case Tok::kNre: op = LineOp::kNotRegex; return true;
    case Tok::kPipePattern: op = LineOp::kPattern; return true;
    case Tok::kNpa: op = LineOp::kNotPattern; return true;
    default: return false;
  }
}

}  // namespace

bool regex_ok(const std::string& pattern, std::string* error) {
  RE2 re(pattern, RE2::Quiet);
  if (!re.ok() && error != nullptr) {
    *error = re.error();
  }
  return re.ok();
}

bool matches_empty(MatchOp op, const std::string& value) {
  switch (op) {
    case MatchOp::kEq: return value.empty();
    case MatchOp::kNeq: return !value.empty();
    case MatchOp::kRe:
    case MatchOp::kNre: {
      RE2 re("^(?:" + value + ")$", RE2::Quiet);
      const bool m = re.ok() && RE2::FullMatch("", re);
      return op == MatchOp::kRe ? m : !m;
    }
  }
  return true;
}

bool valid_label_name(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) {
      return false;
    }
  }
  return true;
}

// IDENTIFIER op STRING, at the identifier. *empty_ok tells whether it accepts "" (its regex is
// compiled once, here, for both the validity and that check).
static Status parse_matcher(Parser& p, LabelMatcher& m, bool* empty_ok = nullptr) {
  const Token& name = p.cur();
  if (!p.accept(Tok::kIdent)) {
    return p.unexpected("IDENTIFIER");
  }
  if (!match_op(p.cur().kind, m.op)) {
    return p.unexpected("=, !=, =~ or !~");
  }
  p.accept(p.cur().kind);
  const Token& v = p.cur();
  if (!p.accept(Tok::kString)) {
    return p.unexpected("STRING");
  }
  m.name = std::string(name.text);
  m.value = str_of(v);
  bool empty = m.op == MatchOp::kEq ? m.value.value.empty() : !m.value.value.empty();
  if (m.op == MatchOp::kRe || m.op == MatchOp::kNre) {
    RE2 re("^(?:" + m.value.value + ")$", RE2::Quiet);
    if (!re.ok()) {
      return p.error(v, "invalid regex in matcher on " + m.name + ": " + re.error());
    }
    const bool hit = RE2::FullMatch("", re);
    empty = m.op == MatchOp::kRe ? hit : !hit;
  }
  if (empty_ok != nullptr) {
    *empty_ok = empty;
  }
  return {};
}

Status Parser::parse_selector(Selector& out) {
  const Token& open = cur();
  if (Status st = expect(Tok::kLBrace, "{"); !st.ok()) {
    return st;
  }
  bool selective = false;
  if (!accept(Tok::kRBrace)) {
    do {
      LabelMatcher m;
      bool empty_ok = true;
      if (Status st = parse_matcher(*this, m, &empty_ok); !st.ok()) {
        return st;
      }
      selective = selective || !empty_ok;
      out.matchers.push_back(std::move(m));
    } while (accept(Tok::kComma));
    if (Status st = expect(Tok::kRBrace, "}"); !st.ok()) {
      return st;
    }
  }
  if (selective) {
    return {};
  }
  return error(open,
               "queries require at least one regexp or equality matcher that does not have an "
               "empty-compatible value. For instance, app=~\".*\" does not meet this requirement, "
               "but app=~\".+\" will");
}

static Status parse_line_filter(Parser& p, LineFilter& f) {
  line_op(p.cur().kind, f.op);
  p.accept(p.cur().kind);
  do {
    LineFilterTerm term;
    const Token& start = p.cur();
    if (p.at(Tok::kFunc) && start.func == Func::kIp) {
      p.accept(Tok::kFunc);
      if (Status st = p.expect(Tok::kLParen, "("); !st.ok()) {
        return st;
      }
      const Token& v = p.cur();
      if (Status st = p.expect(Tok::kString, "STRING"); !st.ok()) {
        return st;
      }
      term.value = str_of(v);
      term.ip = true;
      if (Status st = p.expect(Tok::kRParen, ")"); !st.ok()) {
        return st;
      }
      if (f.op != LineOp::kContains && f.op != LineOp::kNotContains) {
        return p.error(start, "ip() line filters only support |= and !=");
      }
    } else if (p.at(Tok::kString)) {
      term.value = str_of(start);
      p.accept(Tok::kString);
      if (f.op == LineOp::kRegex || f.op == LineOp::kNotRegex) {
        std::string err;
        if (!regex_ok(term.value.value, &err)) {
          return p.error(start, "invalid regex in line filter: " + err);
        }
      }
    } else {
      return p.unexpected("STRING or ip(");
    }
    f.terms.push_back(std::move(term));
  } while (p.accept(Tok::kOr));
  return {};
}

static Status parse_extractions(Parser& p, std::vector<Extraction>& out) {
  if (!p.at(Tok::kIdent)) {
    return {};
  }
  do {
    const Token& name = p.cur();
    if (Status st = p.expect(Tok::kIdent, "IDENTIFIER"); !st.ok()) {
      return st;
    }
    Extraction e{std::string(name.text), Str{std::string(name.text), false}};
    if (p.accept(Tok::kEq)) {
      const Token& v = p.cur();
      if (Status st = p.expect(Tok::kString, "STRING"); !st.ok()) {
        return st;
      }
      e.expr = str_of(v);
    }
    out.push_back(std::move(e));
  } while (p.accept(Tok::kComma));
  return {};
}

// Named groups of a regexp parser expression; Loki requires at least one, all valid names.
static Status check_regexp_parser(Parser& p, const Token& t, std::vector<std::string>& names) {
  RE2 re(t.str, RE2::Quiet);
  if (!re.ok()) {
    return p.error(t, "invalid regexp parser: " + re.error());
  }
  if (re.NamedCapturingGroups().empty()) {
    return p.error(t, "invalid regexp parser: at least one named capture must be supplied");
  }
  for (const auto& [name, idx] : re.NamedCapturingGroups()) {
    if (!valid_label_name(name)) {
      return p.error(t, "invalid regexp parser: invalid extracted label name '" + name + "'");
    }
    names.push_back(name);
  }
  return {};
}

static bool ahead_is_match_op(const Parser& p) {
  MatchOp op;
  return match_op(p.ahead(1).kind, op);
}

static Status parse_stage_after_pipe(Parser& p, std::vector<Stage>& out) {
  const Token& t = p.cur();
  switch (t.kind) {
    case Tok::kJson:
    case Tok::kLogfmt: {
      ParserStage s;
      s.kind = t.kind == Tok::kJson ? ParserKind::kJson : ParserKind::kLogfmt;
      p.accept(t.kind);
      while (s.kind == ParserKind::kLogfmt && p.at(Tok::kFlag)) {
        (p.cur().text == "--strict" ? s.strict : s.keep_empty) = true;
        p.accept(Tok::kFlag);
      }
      if (Status st = parse_extractions(p, s.extractions); !st.ok()) {
        return st;
      }
      out.emplace_back(std::move(s));
      return {};
    }
    case Tok::kRegexp:
    case Tok::kPattern: {
      ParserStage s;
      s.kind = t.kind == Tok::kRegexp ? ParserKind::kRegexp : ParserKind::kPattern;
      p.accept(t.kind);
      const Token& v = p.cur();
      if (Status st = p.expect(Tok::kString, "STRING"); !st.ok()) {
        return st;
      }
      if (s.kind == ParserKind::kRegexp) {
        if (Status st = check_regexp_parser(p, v, s.captures); !st.ok()) {
          return st;
        }
      }
      s.param = str_of(v);
      out.emplace_back(std::move(s));
      return {};
    }
    case Tok::kUnpack: {
      p.accept(t.kind);
      ParserStage s;
      s.kind = ParserKind::kUnpack;
      out.emplace_back(std::move(s));
      return {};
    }
    case Tok::kLineFmt: {
      p.accept(t.kind);
      const Token& v = p.cur();
      if (Status st = p.expect(Tok::kString, "STRING"); !st.ok()) {
        return st;
      }
      out.emplace_back(LineFormat{str_of(v)});
      return {};
    }
    case Tok::kLabelFmt: {
      p.accept(t.kind);
      LabelFormat lf;
      do {
        LabelFormatItem item;
        const Token& dst = p.cur();
        if (Status st = p.expect(Tok::kIdent, "IDENTIFIER"); !st.ok()) {
          return st;
        }
        if (Status st = p.expect(Tok::kEq, "="); !st.ok()) {
          return st;
        }
        item.dst = std::string(dst.text);
        const Token& v = p.cur();
        if (p.accept(Tok::kIdent)) {
          item.rename = true;
          item.source = std::string(v.text);
        } else if (p.accept(Tok::kString)) {
          item.tmpl = str_of(v);
        } else {
          return p.unexpected("IDENTIFIER or STRING");
        }
        lf.items.push_back(std::move(item));
      } while (p.accept(Tok::kComma));
      out.emplace_back(std::move(lf));
      return {};
    }
    case Tok::kDecolorize:
      p.accept(t.kind);
      out.emplace_back(Decolorize{});
      return {};
    case Tok::kDrop:
    case Tok::kKeep: {
      DropKeep dk;
      dk.keep = t.kind == Tok::kKeep;
      p.accept(t.kind);
      do {
        NamedMatcher nm;
        const Token& name = p.cur();
        if (name.kind == Tok::kIdent && ahead_is_match_op(p)) {
          LabelMatcher m;
          if (Status st = parse_matcher(p, m); !st.ok()) {
            return st;
          }
          nm.name = m.name;
          nm.matcher = std::move(m);
        } else {
          if (Status st = p.expect(Tok::kIdent, "IDENTIFIER"); !st.ok()) {
            return st;
          }
          nm.name = std::string(name.text);
        }
        dk.items.push_back(std::move(nm));
      } while (p.accept(Tok::kComma));
      out.emplace_back(std::move(dk));
      return {};
    }
    default: {
      auto f = p.parse_label_filter(0);
      if (!f.ok()) {
        return f.status();
      }
      out.emplace_back(LabelFilterStage(std::move(f).value()));
      return {};
    }
  }
}

Status Parser::parse_pipeline(std::vector<Stage>& out) {
  while (true) {
    LineOp op;
    if (line_op(cur().kind, op)) {
      LineFilter f;
      if (Status st = parse_line_filter(*this, f); !st.ok()) {
        return st;
      }
      out.emplace_back(std::move(f));
      continue;
    }
    if (!at(Tok::kPipe) || ahead(1).kind == Tok::kUnwrap) {
      return {};
    }
    accept(Tok::kPipe);
    if (Status st = parse_stage_after_pipe(*this, out); !st.ok()) {
      return st;
    }
  }
}

}  // namespace obsgate::filters::logql::detail
