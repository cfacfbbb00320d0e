"""Key positions in TOML text: tables, array tables counted as tomllib counts them,
dotted and quoted keys, and values that span lines."""
from appliance.tomlpos import Positions

TEXT = '''# a comment
[office]
name = "x"   # trailing comment with = sign
languages = [
  "en",   # ]
  "ru",
]
notes = """
key = "not a key"
[not.a.table]
"""
after = 1

[[line]]
name = "l1"
[[line]]
name = "l2"
"quoted key" = 2
a.b.c = 3

[menu.main]
keys = { "1" = "menu:x" }

[[queue]]
[queue.rules]
x = 1
'''


def test_positions():
    p = Positions(TEXT)
    assert p.line(("office",)) == 2
    assert p.line(("office", "name")) == 3
    assert p.line(("office", "languages")) == 4
    assert p.line(("office", "languages", 1)) == 4     # inside a value: its key's line
    assert p.line(("office", "notes")) == 8
    assert p.line(("office", "after")) == 12            # the multi-line string held no keys
    assert p.line(("not", "a", "table")) == 0
    assert p.line(("line", 0, "name")) == 15
    assert p.line(("line", 1)) == 16
    assert p.line(("line", 1, "name")) == 17
    assert p.line(("line", 1, "quoted key")) == 18
    assert p.line(("line", 1, "a", "b", "c")) == 19
    assert p.line(("menu", "main", "keys", "1")) == 22  # inside an inline table
    assert p.line(("queue", 0, "rules", "x")) == 26     # a sub-table of the last array element
