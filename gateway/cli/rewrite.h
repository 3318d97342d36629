// `obsgate rewrite`: prints the query obsgate would send upstream for a given scope, so an
// operator can see what will run, and try a policy before writing it.
//
//   obsgate rewrite --promql 'QUERY' [--scope 'SELECTOR']... [--hidden LABEL]...
//   obsgate rewrite --logql  'QUERY' [--scope 'SELECTOR']... [--hidden LABEL]...
//                   [--audit-stream 'SELECTOR']... [--auditor]
//   (--unrestricted: a scope that sees everything; hidden labels still apply)
//
// Each --scope is one rule (a conjunction of matchers, PromQL selector syntax); several are OR'ed.
// Exit 0 with the query on stdout; 1 with the error on stderr; 2 for a usage error.
#pragma once

namespace obsgate::cli {

int run_rewrite(int argc, char** argv);  // argv[0] is "rewrite"

}  // namespace obsgate::cli
