"""Where the code cells are in the user's seed tutorials (copied verbatim into ``seeds/``).

Each cell is ``(first_line, last_line, recorded_output)``: 1-based inclusive line numbers of its code, and, for
cells whose printed output does not depend on random values, the line range of the output the tutorial recorded
(else None). Line numbers rather than copies keep the tutorial text the single source.
"""
from __future__ import annotations

# The one line left out: 000's ``%matplotlib inline`` (an IPython magic, not Python, and it prints nothing).
CELLS: dict[str, list[tuple[int, int, tuple[int, int] | None]]] = {
    "000_77d9af50c1334e0d.txt": [(5, 12, None), (15, 16, None), (23, 25, None), (36, 42, (44, 45)),
                                 (49, 52, (54, 54)), (58, 72, (74, 93))],
    "001_1575c61b28bef233.txt": [(2, 10, None), (13, 14, None), (21, 24, None), (35, 41, (43, 44)),
                                 (48, 50, (52, 52)), (56, 66, (68, 84))],
    "002_343a7f9823eb4a66.txt": [(21, 31, None), (37, 41, None), (53, 54, None), (58, 62, None), (77, 91, None),
                                 (108, 112, None)],
    "003_040115af831b4dfd.txt": [(2, 2, None), (7, 8, (10, 11)), (17, 20, (22, 24)), (28, 32, (34, 36)),
                                 (42, 44, (46, 46)), (52, 54, (56, 56)), (62, 63, None), (69, 75, (77, 79)),
                                 (87, 87, (89, 89)), (93, 95, (97, 98)), (102, 102, (104, 105)), (132, 136, None),
                                 (142, 144, None), (153, 157, (159, 161)), (167, 172, (174, 176)),
                                 (184, 187, (189, 189))],
    "004_f6f3ae67815f4fd0.txt": [(8, 17, None), (29, 31, None), (45, 52, (54, 55)), (63, 71, (73, 92))],
}
