#!/usr/bin/env python3
"""Writes the seed corpus: small real-looking bodies, edge cases and broken inputs.

Run from this folder: python3 make_corpus.py (files found by fuzzing are added by hand)."""
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")
FIXTURES = os.path.join(HERE, "..", "..", "filters", "exposition", "testdata")

SEEDS = {
    "empty": "",
    "comment_only": "# a comment\n#\n\n",
    "untyped": "up 1\n",
    "gauge": "# HELP g A gauge.\n# TYPE g gauge\ng{a=\"1\"} 2.5\ng{a=\"2\"} -3e-5\n",
    "counter": "# TYPE c_total counter\nc_total{code=\"200\"} 17 1700000000000\n",
    "histogram": "# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
                 "h_sum 0.3\nh_count 2\n",
    "summary": "# TYPE s summary\ns{quantile=\"0.5\"} NaN\ns_sum 1\ns_count 2\n",
    "escapes": "# HELP e a\\\\b\\nc\ne{x=\"q\\\"\\\\\\n\"} 1\n",
    "utf8": "u{x=\"h\xc3\xa9llo\"} 1\n",
    "specials": "v{k=\"a\"} +Inf\nv{k=\"b\"} -Inf\nv{k=\"c\"} NaN\nv{k=\"d\"} 1e308\n",
    "node_label": "x{node=\"n\",exported_node=\"m\"} 1\nx{node=\"\"} 2\n",
    "node_collapse": "x{node=\"n\"} 1\nx{exported_node=\"n\"} 2\n",
    "reserved_name": "# TYPE openbao_node_up gauge\nopenbao_node_up 1\n",
    "trailing_comma": "t{a=\"1\",} 1\n",
    "blanks": "  \tb { a = \"1\" }\t2   3 \n",
    "no_newline": "a 1",
    "crlf": "a 1\r\n",
    "dup_series": "a 1\na 2\n",
    "not_grouped": "a 1\nb 1\na{x=\"1\"} 1\n",
    "type_after": "a 1\n# TYPE a gauge\n",
    "clash": "# TYPE h histogram\nh_sum 1\n# TYPE h_sum gauge\nh_sum 1\n",
    "bad_escape": "a{x=\"\\t\"} 1\n",
    "bad_utf8": "a{x=\"\xff\"} 1\n",
    "bad_value": "a 0x1p3\n",
    "bad_ts": "a 1 1.5\n",
    "bucket_no_le": "# TYPE h histogram\nh_bucket 1\n",
    "help_only": "# HELP a doc\n# TYPE a gauge\nb 1\n",
    "untyped_sum": "x 1\nx_sum 2\nx_count 3\n",
    "type_untyped": "# TYPE x untyped\nx 1\n",
}

os.makedirs(OUT, exist_ok=True)
for name, text in SEEDS.items():
    with open(os.path.join(OUT, name + ".prom"), "wb") as f:
        f.write(text.encode("latin-1") if "\xff" in text else text.encode("utf-8"))
for name in ("openbao_active.prom", "openbao_standby.prom"):
    shutil.copy(os.path.join(FIXTURES, name), os.path.join(OUT, name))
