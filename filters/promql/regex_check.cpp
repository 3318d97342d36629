// Regex checks for the non-empty-matcher rule (internal).
#include "filters/promql/regex_check.h"

#include <re2/re2.h>

namespace obsgate::filters::promql {

const char* regex_quick_check(std::string_view re, bool& decided, bool& empty) {
  decided = true;
  if (re == ".*") {
    empty = true;
    return nullptr;
  }
  if (re == ".+") {
    empty = false;
    return nullptr;
  }
  bool literal = true;
  bool alt_empty = true;
  int parens = 0;
  bool in_class = false;
  empty = false;
  for (size_t i = 0; i < re.size(); ++i) {
    char c = re[i];
    if (c == '\\') {
      if (i + 1 >= re.size()) {
        return "error parsing regexp: trailing backslash at end of expression";
      }
      char n = re[++i];
      bool alnum = (n >= 'a' && n <= 'z') || (n >= 'A' && n <= 'Z') || (n >= '0' && n <= '9');
      literal = literal && !alnum && static_cast<unsigned char>(n) < 0x80;
      alt_empty = false;
      continue;
    }
    if (in_class) {
      in_class = c != ']';
      continue;
    }
    switch (c) {
      case '[':
        in_class = true;
        literal = false;
        // A leading ']' (or '^]') is a literal inside the class.
        if (i + 1 < re.size() && re[i + 1] == '^') {
          ++i;
        }
        if (i + 1 < re.size() && re[i + 1] == ']') {
          ++i;
        }
        break;
      case '(': ++parens; literal = false; break;
      case ')':
        if (--parens < 0) {
          return "error parsing regexp: unexpected )";
        }
        literal = false;
        break;
      case '|':
        empty = empty || alt_empty;
        alt_empty = true;
        break;
      case '.': case '^': case '$': case '*': case '+': case '?': case '{': case '}':
        literal = false;
        break;
      default: alt_empty = false; break;
    }
  }
  if (parens != 0) {
    return "error parsing regexp: missing closing )";
  }
  if (in_class) {
    return "error parsing regexp: missing closing ]";
  }
  if (literal) {
    empty = empty || alt_empty;
    return nullptr;
  }
  decided = false;
  return nullptr;
}

// The exact answer, compiling with RE2 (which also validates the syntax).
const char* regex_matches_empty(std::string_view re, bool& empty, std::string& err) {
  std::string pattern = "^(?s:";
  pattern.append(re);
  pattern += ")$";
  RE2 compiled(pattern, RE2::Quiet);
  if (!compiled.ok()) {
    err = "error parsing regexp: " + compiled.error();
    return err.c_str();
  }
  empty = RE2::FullMatch("", compiled);
  return nullptr;
}

}  // namespace obsgate::filters::promql
