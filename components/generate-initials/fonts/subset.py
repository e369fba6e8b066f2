#!/usr/bin/env python3
"""Makes InterDisplay-SemiBold-subset.otf, the font generate-initials embeds.

Usage: subset.py <InterDisplay-SemiBold.otf>   (needs `pip install fonttools`)

The source is Inter Display Semi Bold 3.019 as Debian's `fonts-inter` package ships it
(/usr/share/fonts/opentype/inter/InterDisplay-SemiBold.otf, 275,576 bytes, sha256
1db59eb44058d96bd1eb258317ecc33e9766e96726939eb6850987dcda47ef5e).

Kept: the Latin (Basic, Latin-1, Extended-A, -B, -C, -D and Extended Additional), Greek (and
Greek Extended) and Cyrillic (and its Supplement and Extended blocks) characters the plugin can
draw. The plugin upper-cases every letter whose capital is one character, so those lower-case
letters are never drawn and are left out; letters without such a capital (ß, ĸ, ŉ …), digits,
punctuation and symbols stay. Dropped: hinting (the rasteriser ignores it) and the layout tables
GSUB, GPOS and GDEF (letters are placed by their advances, without shaping). The name table,
with the copyright and licence notices, stays.
"""

import sys

from fontTools import subset

BLOCKS = [
    (0x0020, 0x007E),  # Basic Latin
    (0x00A0, 0x024F),  # Latin-1 Supplement, Latin Extended-A and -B
    (0x0370, 0x03FF),  # Greek and Coptic
    (0x0400, 0x052F),  # Cyrillic, Cyrillic Supplement
    (0x1C80, 0x1C8F),  # Cyrillic Extended-C
    (0x1E00, 0x1EFF),  # Latin Extended Additional
    (0x1F00, 0x1FFF),  # Greek Extended
    (0x2C60, 0x2C7F),  # Latin Extended-C
    (0x2DE0, 0x2DFF),  # Cyrillic Extended-A
    (0xA640, 0xA69F),  # Cyrillic Extended-B
    (0xA720, 0xA7FF),  # Latin Extended-D
]


def drawable(code):
    """Whether the plugin can draw this character: it is not a letter whose capital is one
    other character (it would draw the capital instead)."""
    capital = chr(code).upper()
    return not (len(capital) == 1 and capital != chr(code))


def main():
    source = sys.argv[1]
    unicodes = ",".join(
        f"U+{code:04X}"
        for first, last in BLOCKS
        for code in range(first, last + 1)
        if drawable(code)
    )
    subset.main(
        [
            source,
            f"--unicodes={unicodes}",
            "--layout-features=",
            "--drop-tables+=GSUB,GPOS,GDEF",
            "--no-hinting",
            "--name-IDs=*",
            "--name-languages=*",
            "--output-file=InterDisplay-SemiBold-subset.otf",
        ]
    )


if __name__ == "__main__":
    main()
