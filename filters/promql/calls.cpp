// Function calls and aggregations, with Prometheus's arity and argument-type checks.
#include "filters/promql/functions.h"
#include "filters/promql/parser.h"

namespace obsgate::filters::promql {

NodeId Parser::parse_call() {
  Node n;
  n.kind = NodeKind::kCall;
  n.pos = cur_.pos;
  n.str = cur_.text;
  n.fn = find_function(cur_.text);
  if (n.fn == nullptr) {
    fail(n.pos, "unknown function with name \"" + std::string(cur_.text) + "\"");
    return kNoNode;
  }
  if (n.fn->experimental && !opts_.experimental_functions) {
    fail(n.pos, "function \"" + std::string(cur_.text) + "\" is not enabled");
    return kNoNode;
  }
  advance();  // name
  advance();  // (
  const size_t base = arg_stack_.size();
  if (cur_.kind != Tok::kRParen) {
    while (true) {
      NodeId arg = parse_expr(0);
      if (failed_) {
        return kNoNode;
      }
      arg_stack_.push_back(arg);
      if (cur_.kind != Tok::kComma) {
        break;
      }
      advance();
      if (cur_.kind == Tok::kRParen) {
        fail(cur_.pos, "trailing commas not allowed in function call args");
        return kNoNode;
      }
    }
  }
  if (!expect(Tok::kRParen, "\",\" or \")\"", "function call")) {
    return kNoNode;
  }
  n.args = Span{ast_.id_count(), static_cast<uint32_t>(arg_stack_.size() - base)};
  for (size_t i = base; i < arg_stack_.size(); ++i) {
    ast_.push_id(arg_stack_[i]);
  }
  arg_stack_.resize(base);
  NodeId id = add_node(n);
  check_call(id);
  return failed_ ? kNoNode : id;
}

// Prometheus checkAST for Call: arity, then each argument's type.
void Parser::check_call(NodeId id) {
  const Node& n = ast_.node(id);
  const FunctionInfo& f = *n.fn;
  const std::string name(f.name);
  const int nargs = f.arg_count;
  const int got = static_cast<int>(n.args.size);
  if (f.variadic == 0) {
    if (got != nargs) {
      fail(n.pos, "expected " + std::to_string(nargs) + " argument(s) in call to \"" + name +
                      "\", got " + std::to_string(got));
      return;
    }
  } else {
    const int min = nargs - 1;
    if (got < min) {
      fail(n.pos, "expected at least " + std::to_string(min) + " argument(s) in call to \"" +
                      name + "\", got " + std::to_string(got));
      return;
    }
    if (f.variadic > 0 && got > min + f.variadic) {
      fail(n.pos, "expected at most " + std::to_string(min + f.variadic) +
                      " argument(s) in call to \"" + name + "\", got " + std::to_string(got));
      return;
    }
  }
  for (int i = 0; i < got; ++i) {
    NodeId arg = ast_.ids(n.args)[i];
    ValueType want = f.arg_types[i < nargs ? i : nargs - 1];
    ValueType have = type_of(ast_, arg);
    if (have != want) {
      fail(ast_.node(arg).pos, "expected type " + std::string(type_name(want)) +
                                   " in call to function \"" + name + "\", got " +
                                   std::string(type_name(have)));
      return;
    }
  }
  if (name == "info" && got == 2 && ast_.node(ast_.ids(n.args)[1]).kind !=
                                        NodeKind::kVectorSelector) {
    fail(ast_.node(ast_.ids(n.args)[1]).pos,
         "expected label selectors as the second argument to \"info\" function");
  }
}

NodeId Parser::parse_aggregate() {
  Node n;
  n.kind = NodeKind::kAggregate;
  n.pos = cur_.pos;
  n.agg = cur_.agg;
  if ((n.agg == AggOp::kLimitk || n.agg == AggOp::kLimitRatio) && !opts_.experimental_functions) {
    fail(n.pos, std::string(agg_op_string(n.agg)) +
                    "() is experimental and must be enabled with "
                    "--enable-feature=promql-experimental-functions");
    return kNoNode;
  }
  advance();
  auto grouping = [&]() {
    n.has_grouping = true;
    n.without = cur_.kind == Tok::kWithout;
    advance();
    n.grouping = parse_label_list("grouping opts");
  };
  if (cur_.kind == Tok::kBy || cur_.kind == Tok::kWithout) {
    grouping();
    if (failed_) {
      return kNoNode;
    }
  }
  const uint32_t lp = cur_.pos;
  if (!expect(Tok::kLParen, "\"(\"", "aggregation")) {
    return kNoNode;
  }
  if (cur_.kind == Tok::kRParen) {
    fail(lp, "no arguments for aggregate expression provided");
    return kNoNode;
  }
  NodeId args[2] = {kNoNode, kNoNode};
  int count = 0;
  while (true) {
    NodeId arg = parse_expr(0);
    if (failed_) {
      return kNoNode;
    }
    if (count < 2) {
      args[count] = arg;
    }
    ++count;
    if (cur_.kind != Tok::kComma) {
      break;
    }
    advance();
    if (cur_.kind == Tok::kRParen) {
      fail(cur_.pos, "trailing commas not allowed in function call args");
      return kNoNode;
    }
  }
  if (!expect(Tok::kRParen, "\",\" or \")\"", "aggregation")) {
    return kNoNode;
  }
  if (!n.has_grouping && (cur_.kind == Tok::kBy || cur_.kind == Tok::kWithout)) {
    grouping();
    if (failed_) {
      return kNoNode;
    }
  }
  const int want = agg_has_param(n.agg) ? 2 : 1;
  if (count != want) {
    fail(lp, "wrong number of arguments for aggregate expression provided, expected " +
                 std::to_string(want) + ", got " + std::to_string(count));
    return kNoNode;
  }
  n.a = args[want - 1];
  n.b = want == 2 ? args[0] : kNoNode;
  ValueType et = type_of(ast_, n.a);
  if (et != ValueType::kVector) {
    fail(ast_.node(n.a).pos, "expected type instant vector in aggregation expression, got " +
                                 std::string(type_name(et)));
    return kNoNode;
  }
  if (n.b != kNoNode) {
    ValueType pt = type_of(ast_, n.b);
    ValueType want_t = n.agg == AggOp::kCountValues ? ValueType::kString : ValueType::kScalar;
    if (pt != want_t) {
      fail(ast_.node(n.b).pos, "expected type " + std::string(type_name(want_t)) +
                                   " in aggregation parameter, got " + std::string(type_name(pt)));
      return kNoNode;
    }
  }
  return add_node(n);
}

}  // namespace obsgate::filters::promql
