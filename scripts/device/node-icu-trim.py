"""Trims the ICU data built into a Node binary to what an English-only run uses, in place, so the
Node that scripts/device/pack.sh carries to a lent GPU machine compresses to 14 MB rather than 21.

    python3 scripts/device/node-icu-trim.py SYMBOLS_BINARY BINARY

Node's official builds link ICU's whole data package (33 MB: every locale, the legacy charset
converters, the break dictionaries) as the symbol icudt<version>_dat. Its place and size are read
from SYMBOLS_BINARY's symbol table (the Node binary before `strip`), its file offset from BINARY's
section table (the stripped copy, which is patched). The package is written again with the same
header and fewer items, then zeros to the old length: ICU finds items through the package's table
of contents, so the zeros are never read. Left out, as Node's own small-icu build leaves out the
locales: the locale data other than root and English (Intl then formats every locale as English),
every converter but windows-1252 (TextDecoder('latin1')), the transliterators, the character names
and the word-break dictionaries of Thai, Lao, Khmer, Burmese and CJK text. pack.sh checks the
result: Intl, TextDecoder('latin1') and a test file run with it.
"""
import re
import struct
import subprocess
import sys

LOCALE = re.compile(r'^(?:[a-z]+/)?[a-z]{2,3}(_[A-Za-z0-9]*)*\.res$')
KEEP_LOCALE = re.compile(r'^(?:[a-z]+/)?(root|en|en_US|en_US_POSIX|en_001|res_index)\.res$')
KEEP_CONVERTER = 'ibm-5348_P100-1997.cnv'  # windows-1252, which TextDecoder('latin1') decodes with


def dropped(item):
    """Whether an item (named within the package, e.g. 'coll/de.res') is left out."""
    if item.startswith('translit/') or item == 'unames.icu' or item.endswith('.dict'):
        return True
    if item.endswith('.cnv'):
        return item != KEEP_CONVERTER
    return bool(LOCALE.match(item)) and not KEEP_LOCALE.match(item)


def trimmed(pkg):
    """The ICU common data package `pkg` without the dropped items, and how many items it had and kept."""
    header = struct.unpack_from('<H', pkg, 0)[0]
    if pkg[2:4] != b'\xda\x27' or pkg[12:16] != b'CmnD':
        raise SystemExit('node-icu-trim: the symbol holds no ICU common data package')
    count = struct.unpack_from('<I', pkg, header)[0]
    entries = [struct.unpack_from('<II', pkg, header + 4 + 8 * i) for i in range(count)]
    items = []
    for i, (name_at, data_at) in enumerate(entries):
        end = entries[i + 1][1] if i + 1 < count else len(pkg) - header
        name = pkg[header + name_at:pkg.index(b'\0', header + name_at)].decode()
        items.append((name, pkg[header + data_at:header + end]))
    # Names are '<package>/<item>', in the order ICU's binary search expects: kept as they are.
    kept = [(n, d) for n, d in items if not dropped(n.split('/', 1)[1])]
    names = b''.join(n.encode() + b'\0' for n, _ in kept)
    toc = 4 + 8 * len(kept)
    at, offsets = toc + len(names), []
    for _, d in kept:
        at = (at + 15) & ~15  # each item 16-byte aligned, as ICU writes them
        offsets.append(at)
        at += len(d)
    body = bytearray(at)
    struct.pack_into('<I', body, 0, len(kept))
    name_at = toc
    for i, (n, _) in enumerate(kept):
        struct.pack_into('<II', body, 4 + 8 * i, name_at, offsets[i])
        name_at += len(n.encode()) + 1
    body[toc:toc + len(names)] = names
    for o, (_, d) in zip(offsets, kept):
        body[o:o + len(d)] = d
    return pkg[:header] + bytes(body), count, len(kept)


def main(symbols_binary, binary):
    syms = [line.split() for line in subprocess.check_output(['nm', '-S', symbols_binary], text=True, stderr=subprocess.DEVNULL).splitlines()]
    icu = [s for s in syms if len(s) == 4 and re.fullmatch(r'icudt\d+_dat', s[3])]
    if not icu:
        raise SystemExit(f'node-icu-trim: no icudt*_dat symbol in {symbols_binary} (stripped already?)')
    address, size, symbol = int(icu[0][0], 16), int(icu[0][1], 16), icu[0][3]
    offset = None
    for line in subprocess.check_output(['readelf', '-S', '-W', binary], text=True).splitlines():
        fields = line.split(']', 1)[1].split() if line.lstrip().startswith('[') else []
        if len(fields) > 4 and fields[1] == 'PROGBITS':
            start, at, length = int(fields[2], 16), int(fields[3], 16), int(fields[4], 16)
            if start <= address < start + length:
                offset = address - start + at
    if offset is None:
        raise SystemExit(f'node-icu-trim: {symbol} lies in no section of {binary}')
    with open(binary, 'r+b') as f:
        f.seek(offset)
        pkg = f.read(size)
        new, count, kept = trimmed(pkg)
        f.seek(offset)
        f.write(new + bytes(size - len(new)))
    print(f'node-icu-trim: {symbol}: {kept} of {count} items kept, {size} -> {len(new)} bytes')


if __name__ == '__main__':
    if len(sys.argv) != 3:
        raise SystemExit('usage: node-icu-trim.py SYMBOLS_BINARY BINARY')
    main(sys.argv[1], sys.argv[2])
