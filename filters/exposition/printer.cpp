// The text-format printer. Output is canonical: one blank between tokens, labels in the order
// held, values in their shortest round-trip form, `# TYPE` always written.
#include <charconv>
#include <cmath>

#include "filters/exposition/exposition.h"

namespace obsgate::filters::exposition {

void append_label_value(std::string_view v, std::string& out) {
  for (const char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void append_help(std::string_view v, std::string& out) {
  for (const char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void append_value(double v, std::string& out) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
    return;
  }
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

void print_family(const Family& f, std::string& out) {
  if (f.samples.empty()) {
    return;  // a HELP-only family: nothing to say, and a TYPE line could claim names
  }
  if (f.help && !f.help->empty()) {
    out += "# HELP ";
    out += f.name;
    out += ' ';
    append_help(*f.help, out);
    out += '\n';
  }
  out += "# TYPE ";
  out += f.name;
  out += ' ';
  out += type_name(f.type);
  out += '\n';
  for (const Sample& s : f.samples) {
    out += s.name;
    if (!s.labels.empty()) {
      out += '{';
      for (size_t i = 0; i < s.labels.size(); ++i) {
        if (i > 0) {
          out += ',';
        }
        out += s.labels[i].name;
        out += "=\"";
        append_label_value(s.labels[i].value, out);
        out += '"';
      }
      out += '}';
    }
    out += ' ';
    append_value(s.value, out);
    if (s.timestamp_ms) {
      out += ' ';
      out += std::to_string(*s.timestamp_ms);
    }
    out += '\n';
  }
}

std::string print(const Exposition& e) {
  std::string out;
  for (const Family& f : e.families) {
    print_family(f, out);
  }
  return out;
}

}  // namespace obsgate::filters::exposition
