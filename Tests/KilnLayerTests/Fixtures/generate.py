#!/usr/bin/env python3
"""Writes the hostile layer archives that KilnLayerTests apply.

Archives are written with tarfile's TarInfo objects, and with raw 512-byte headers for the
malformed ones; nothing is ever extracted here. Each case has an ID, a one-line description,
the expected result and the threat it exercises (the T-row of kiln's reliability plan).

Usage:
    generate.py [--out DIR]                      write the static archives and index.json
    generate.py --victim PATH --out DIR CASE...  write cases that need the victim's absolute path

Cases whose archives contain the absolute path of the test's victim directory cannot be
committed, so the tests run this script with --victim for them.
"""

import argparse
import gzip
import io
import json
import os
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "layers")

CASES = []


def case(case_id, description, expect, anchor, error=None, victim=False, files=None):
    """Registers a generator function for one case."""

    def register(function):
        CASES.append(
            {
                "id": case_id,
                "description": description,
                "expect": expect,
                "anchor": anchor,
                "error": error,
                "needsVictim": victim,
                "files": files or [case_id + ".tar"],
                "function": function,
            }
        )
        return function

    return register


# Helpers --------------------------------------------------------------------------------------


def info(name, kind=tarfile.REGTYPE, size=0, mode=0o644, uid=0, gid=0, mtime=1700000000, link="", pax=None):
    entry = tarfile.TarInfo(name)
    entry.type = kind
    entry.size = size
    entry.mode = mode
    entry.uid = uid
    entry.gid = gid
    entry.mtime = mtime
    entry.linkname = link
    entry.uname = ""
    entry.gname = ""
    if pax:
        entry.pax_headers = pax
    return entry


def write_tar(path, entries, fmt=tarfile.PAX_FORMAT):
    """entries: (TarInfo, bytes or None) pairs, written in order."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt, encoding="utf-8", errors="surrogateescape") as archive:
        for entry, data in entries:
            if data is not None:
                entry.size = len(data)
                archive.addfile(entry, io.BytesIO(data))
            else:
                archive.addfile(entry)
    with open(path, "wb") as output:
        output.write(buffer.getvalue())


def file_entry(name, text, **fields):
    data = text.encode() if isinstance(text, str) else text
    return (info(name, size=len(data), **fields), data)


def dir_entry(name, mode=0o755, **fields):
    return (info(name, tarfile.DIRTYPE, mode=mode, **fields), None)


def symlink_entry(name, target, **fields):
    return (info(name, tarfile.SYMTYPE, mode=fields.pop("mode", 0o777), link=target, **fields), None)


def hardlink_entry(name, target):
    return (info(name, tarfile.LNKTYPE, link=target), None)


def raw_header(name, size, typeflag=b"0", mode=0o644, linkname=b"", size_field=None, checksum_delta=0):
    """A ustar header built byte by byte, for archives tarfile refuses to write."""
    header = bytearray(512)
    header[0 : len(name)] = name
    header[100:108] = b"%07o\x00" % mode
    header[108:116] = b"0000000\x00"
    header[116:124] = b"0000000\x00"
    header[124:136] = size_field if size_field is not None else b"%011o\x00" % size
    header[136:148] = b"%011o\x00" % 1700000000
    header[156:157] = typeflag
    header[157 : 157 + len(linkname)] = linkname
    header[257:263] = b"ustar\x00"
    header[263:265] = b"00"
    header[148:156] = b" " * 8
    checksum = sum(header) + checksum_delta
    header[148:156] = b"%06o\x00 " % checksum
    return bytes(header)


def pax_record(key, value):
    """One PAX record, "LENGTH key=value\n", where LENGTH counts the whole record."""
    body = b" %s=%s\n" % (key, value)
    length = len(body) + 1
    while len(str(length)) + len(body) != length:
        length += 1
    return str(length).encode() + body


def padded(data):
    return data + b"\x00" * (-len(data) % 512)


END = b"\x00" * 1024


# L01: names that climb out of the root ---------------------------------------------------------


@case("L01", "regular files named ../../victim/pwn, ./../victim/pwn2 and a/../../victim/pwn3", "reject", "T1",
      error='entry "../../victim/pwn": the name leaves the root through ".."')
def l01(out, victim):
    write_tar(os.path.join(out, "L01.tar"), [
        file_entry("../../victim/pwn", "pwn1"),
        file_entry("./../victim/pwn2", "pwn2"),
        file_entry("a/../../victim/pwn3", "pwn3"),
    ])


@case("L01b", "only a/../../victim/pwn3, which climbs out after entering a", "reject", "T1",
      error='entry "a/../../victim/pwn3": the name leaves the root through ".."')
def l01b(out, victim):
    write_tar(os.path.join(out, "L01b.tar"), [file_entry("a/../../victim/pwn3", "pwn3")])


@case("L02", "must still work: absolute name, kaniko-style absolute hard link target, absolute symlink, a/b/../c",
      "accept", "T1, T4")
def l02(out, victim):
    write_tar(os.path.join(out, "L02.tar"), [
        file_entry("/etc/kiln-abs", "absolute"),
        file_entry("usr/bin/perlbug", "#!/usr/bin/perl\n", mode=0o755),
        hardlink_entry("usr/bin/perlthanks", "/usr/bin/perlbug"),
        symlink_entry("etc/alternatives/x", "/usr/bin/perlbug"),
        file_entry("a/b/../c", "harmless"),
    ])


# L03: writing through a symbolic link to the victim ----------------------------------------------


@case("L03a", "symlink localetc -> <victim>, then file localetc/hello", "accept", "T2, T5", victim=True)
def l03a(out, victim):
    write_tar(os.path.join(out, "L03a.tar"), [symlink_entry("localetc", victim), file_entry("localetc/hello", "PWNED")])


@case("L03b", "symlink localetc -> ../../../../../<victim>, then file localetc/hello", "accept", "T2, T5", victim=True)
def l03b(out, victim):
    write_tar(os.path.join(out, "L03b.tar"), [
        symlink_entry("localetc", "../../../../.." + victim),
        file_entry("localetc/hello", "PWNED"),
    ])


@case("L03c", "chain d1/l -> <victim> and l2 -> ./d1/l, then file l2/hello", "accept", "T2, T5", victim=True)
def l03c(out, victim):
    write_tar(os.path.join(out, "L03c.tar"), [
        dir_entry("d1"),
        symlink_entry("d1/l", victim),
        symlink_entry("l2", "./d1/l"),
        file_entry("l2/hello", "PWNED"),
    ])


@case("L03d", "symlink localetc -> /dummy/../<victim>, then file localetc/hello", "accept", "T2, T5", victim=True)
def l03d(out, victim):
    write_tar(os.path.join(out, "L03d.tar"), [
        symlink_entry("localetc", "/dummy/.." + victim),
        file_entry("localetc/hello", "PWNED"),
    ])


# L04: a link from a lower layer ------------------------------------------------------------------


@case("L04a", "layer 1 symlink x -> <victim>; layer 2 file x/authorized_keys", "accept", "T3", victim=True,
      files=["L04a-1.tar", "L04a-2.tar"])
def l04a(out, victim):
    write_tar(os.path.join(out, "L04a-1.tar"), [symlink_entry("x", victim)])
    write_tar(os.path.join(out, "L04a-2.tar"), [file_entry("x/authorized_keys", "ssh-ed25519 PWNED")])


@case("L04b", "layer 1 etc/passwd and symlink localetc -> /etc; layer 2 directory localetc/ and localetc/passwd",
      "accept", "T3", files=["L04b-1.tar", "L04b-2.tar"])
def l04b(out, victim):
    write_tar(os.path.join(out, "L04b-1.tar"), [
        dir_entry("etc"),
        file_entry("etc/passwd", "root:x:0:0:base\n"),
        symlink_entry("localetc", "/etc"),
    ])
    write_tar(os.path.join(out, "L04b-2.tar"), [dir_entry("localetc"), file_entry("localetc/passwd", "replaced\n")])


# L05: hard links ---------------------------------------------------------------------------------


@case("L05a", "hard link lp -> ../../../../victim/hello", "reject", "T4",
      error='entry "lp": hard link target "../../../../victim/hello": the name leaves the root through ".."')
def l05a(out, victim):
    write_tar(os.path.join(out, "L05a.tar"), [hardlink_entry("lp", "../../../../victim/hello")])


@case("L05b", "symlink pl -> <victim>/hello, then hard link lp2 -> pl", "accept", "T4", victim=True)
def l05b(out, victim):
    write_tar(os.path.join(out, "L05b.tar"), [symlink_entry("pl", victim + "/hello"), hardlink_entry("lp2", "pl")])


@case("L05c", "hard link to a path that does not exist", "reject", "T4",
      error='entry "lp": hard link target "missing/file" does not exist')
def l05c(out, victim):
    write_tar(os.path.join(out, "L05c.tar"), [hardlink_entry("lp", "missing/file")])


@case("L05d", "hard link to a directory", "reject", "T4", error='entry "lp": hard link target "dir" is a directory')
def l05d(out, victim):
    write_tar(os.path.join(out, "L05d.tar"), [dir_entry("dir"), hardlink_entry("lp", "dir")])


@case("L05e", "hard link with an absolute target /victim-abs, resolved inside the root", "accept", "T4")
def l05e(out, victim):
    write_tar(os.path.join(out, "L05e.tar"), [file_entry("victim-abs", "inside"), hardlink_entry("lp", "/victim-abs")])


# L06: metadata through links ---------------------------------------------------------------------


@case("L06a", "symlink s -> <victim>/hello with mode 06777, mtime 0, owner 4242 and user.kiln=1", "accept", "T6",
      victim=True)
def l06a(out, victim):
    write_tar(os.path.join(out, "L06a.tar"), [
        symlink_entry("s", victim + "/hello", mode=0o6777, uid=4242, gid=4242, mtime=0,
                      pax={"SCHILY.xattr.user.kiln": "1"}),
    ])


@case("L06b", "layer 1 symlink d -> <victim>; layer 2 directory d/ with mode 0777", "accept", "T6", victim=True,
      files=["L06b-1.tar", "L06b-2.tar"])
def l06b(out, victim):
    write_tar(os.path.join(out, "L06b-1.tar"), [symlink_entry("d", victim)])
    write_tar(os.path.join(out, "L06b-2.tar"), [dir_entry("d", mode=0o777)])


# L07: whiteouts ----------------------------------------------------------------------------------

for _id, _name in [("L07a", ".wh."), ("L07b", ".wh.."), ("L07c", ".wh..."), ("L07d", "etc/.wh.."),
                   ("L07e", "etc/.wh...")]:
    _base = _name.split("/")[-1]

    @case(_id, "invalid whiteout %s" % _name, "reject", "T10",
          error='entry "%s": invalid whiteout: "%s" names no file' % (_name, _base))
    def _invalid_whiteout(out, victim, _id=_id, _name=_name):
        write_tar(os.path.join(out, _id + ".tar"), [file_entry(_name, "", mode=0)])


@case("L07f", "whiteout ../.wh.victim", "reject", "T10",
      error='entry "../.wh.victim": the name leaves the root through ".."')
def l07f(out, victim):
    write_tar(os.path.join(out, "L07f.tar"), [file_entry("../.wh.victim", "", mode=0)])


@case("L07g", "layer 1 localetc -> <victim>; layer 2 localetc/.wh.hello", "accept", "T10", victim=True,
      files=["L07g-1.tar", "L07g-2.tar"])
def l07g(out, victim):
    write_tar(os.path.join(out, "L07g-1.tar"), [symlink_entry("localetc", victim)])
    write_tar(os.path.join(out, "L07g-2.tar"), [file_entry("localetc/.wh.hello", "", mode=0)])


@case("L07h", "layer 1 localetc -> <victim>; layer 2 .wh.localetc removes only the link", "accept", "T10",
      victim=True, files=["L07h-1.tar", "L07h-2.tar"])
def l07h(out, victim):
    write_tar(os.path.join(out, "L07h-1.tar"), [symlink_entry("localetc", victim)])
    write_tar(os.path.join(out, "L07h-2.tar"), [file_entry(".wh.localetc", "", mode=0)])


@case("L07i", "layer 1 a -> <victim>; layer 2 a/.wh..wh..opq", "accept", "T10", victim=True,
      files=["L07i-1.tar", "L07i-2.tar"])
def l07i(out, victim):
    write_tar(os.path.join(out, "L07i-1.tar"), [symlink_entry("a", victim)])
    write_tar(os.path.join(out, "L07i-2.tar"), [file_entry("a/.wh..wh..opq", "", mode=0)])


@case("L07j", "file a/x and whiteout a/.wh.x in the same layer: the file stays", "accept", "T10")
def l07j(out, victim):
    write_tar(os.path.join(out, "L07j.tar"), [dir_entry("a"), file_entry("a/x", "same layer"),
                                              file_entry("a/.wh.x", "", mode=0)])


@case("L07k", "layer 1 a/b, a/c; layer 2 a new a/b before a/.wh..wh..opq: a holds only the new b", "accept", "T10",
      files=["L07k-1.tar", "L07k-2.tar"])
def l07k(out, victim):
    write_tar(os.path.join(out, "L07k-1.tar"), [dir_entry("a"), file_entry("a/b", "old b"), file_entry("a/c", "old c")])
    write_tar(os.path.join(out, "L07k-2.tar"), [dir_entry("a"), file_entry("a/b", "new b"),
                                                file_entry("a/.wh..wh..opq", "", mode=0)])


@case("L07l", "RUN touch /f then RUN rm /f: layer 1 f, layer 2 .wh.f", "accept", "T10",
      files=["L07l-1.tar", "L07l-2.tar"])
def l07l(out, victim):
    write_tar(os.path.join(out, "L07l-1.tar"), [file_entry("f", "")])
    write_tar(os.path.join(out, "L07l-2.tar"), [file_entry(".wh.f", "", mode=0)])


@case("L07m", "an entry inside a whiteout name: .wh.dir/file", "reject", "T10",
      error='entry ".wh.dir/file": whiteout name ".wh.dir" cannot have entries inside it')
def l07m(out, victim):
    write_tar(os.path.join(out, "L07m.tar"), [file_entry(".wh.dir/file", "x")])


@case("L07n", "aufs metadata .wh..wh.plnk/1.2 is skipped, as Docker skips it", "accept", "T10")
def l07n(out, victim):
    write_tar(os.path.join(out, "L07n.tar"), [dir_entry(".wh..wh.plnk"), file_entry(".wh..wh.plnk/1.2", "aufs"),
                                              file_entry("kept", "kept")])


# L08: devices and special modes ------------------------------------------------------------------


@case("L08", "block and char devices, a FIFO, setuid and setgid files, a sticky directory, uid 4294967294",
      "accept", "T11")
def l08(out, victim):
    block = info("dev/sda", tarfile.BLKTYPE, mode=0o666)
    block.devmajor, block.devminor = 8, 0
    char = info("dev/kmem", tarfile.CHRTYPE, mode=0o640)
    char.devmajor, char.devminor = 1, 2
    write_tar(os.path.join(out, "L08.tar"), [
        dir_entry("dev"),
        (block, None),
        (char, None),
        (info("run/fifo", tarfile.FIFOTYPE, mode=0o600), None),
        file_entry("bin/rootsh", "#!/bin/sh\n", mode=0o4755),
        file_entry("bin/g", "#!/bin/sh\n", mode=0o2755),
        dir_entry("tmp", mode=0o1777),
        file_entry("nobody-file", "owned by 4294967294", uid=4294967294, gid=4294967294),
    ])


# L09: bombs (sized for tests that lower the limits) --------------------------------------------


@case("L09a", "gzip layer expanding to one 64 MiB file of zeros (tests set a 16 MiB limit)", "reject", "T12",
      error="uncompressed size in bytes exceeds the limit of 16777216", files=["L09a.tar.gz"])
def l09a(out, victim):
    size = 64 << 20
    header = raw_header(b"zeros", size)
    with gzip.GzipFile(os.path.join(out, "L09a.tar.gz"), "wb", compresslevel=9, mtime=0) as output:
        output.write(header)
        chunk = b"\x00" * (1 << 20)
        for _ in range(size >> 20):
            output.write(chunk)
        output.write(END)


@case("L09b", "zstd frame that claims a 2 GiB window", "reject", "T12",
      error="the zstd frame needs a window larger than 134217728 bytes", files=["L09b.tar.zst"])
def l09b(out, victim):
    # Magic, a frame header descriptor with no flags, and a window descriptor of 2^(10+21) = 2 GiB,
    # then a raw block of 512 zero bytes.
    frame = bytes([0x28, 0xB5, 0x2F, 0xFD, 0x00, 21 << 3])
    block_header = (512 << 3) | (0 << 1) | 1
    frame += block_header.to_bytes(3, "little") + b"\x00" * 512
    with open(os.path.join(out, "L09b.tar.zst"), "wb") as output:
        output.write(frame)


@case("L09c", "10,000 empty files (tests set a limit of 1,000 entries)", "reject", "T12",
      error="number of entries exceeds the limit of 1000", files=["L09c.tar.gz"])
def l09c(out, victim):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for index in range(10000):
            archive.addfile(info("f%05d" % index))
    with gzip.GzipFile(os.path.join(out, "L09c.tar.gz"), "wb", compresslevel=9, mtime=0) as output:
        output.write(buffer.getvalue())


@case("L09d", "directories nested 300 deep (the depth limit is 256)", "reject", "T12",
      error="path depth in components exceeds the limit of 256")
def l09d(out, victim):
    entries = []
    path = ""
    for _ in range(300):
        path += "d/"
        entries.append(dir_entry(path))
    write_tar(os.path.join(out, "L09d.tar"), entries)


@case("L09e", "a file name of 5,000 bytes (the path length limit is 4096)", "reject", "T12",
      error="path length in bytes exceeds the limit of 4096")
def l09e(out, victim):
    name = "/".join(["p" * 99] * 50)
    write_tar(os.path.join(out, "L09e.tar"), [file_entry(name, "long")])


# L10: malformed headers --------------------------------------------------------------------------


@case("L10a", "a PAX header claiming 64 MiB of records", "reject", "T13", error="Special header too large")
def l10a(out, victim):
    data = raw_header(b"PaxHeader/x", 64 << 20, typeflag=b"x") + padded(pax_record(b"path", b"x") * 10)
    with open(os.path.join(out, "L10a.tar"), "wb") as output:
        output.write(data + END)


@case("L10b", "a GNU long name of 16 MiB", "reject", "T13", error="Special header too large")
def l10b(out, victim):
    data = raw_header(b"././@LongLink", 16 << 20, typeflag=b"L") + padded(b"n" * 1000)
    with open(os.path.join(out, "L10b.tar"), "wb") as output:
        output.write(data + END)


@case("L10c", "a size field bigger than the data that follows (truncated archive)", "reject", "T13",
      error="Truncated tar archive")
def l10c(out, victim):
    with open(os.path.join(out, "L10c.tar"), "wb") as output:
        output.write(raw_header(b"truncated", 100000) + b"x" * 1000)


@case("L10d", "a base-256 size of 2^63-1", "reject", "T13", error="Tar entry size overflow")
def l10d(out, victim):
    size_field = b"\x80" + b"\x00" * 3 + (2**63 - 1).to_bytes(8, "big")
    with open(os.path.join(out, "L10d.tar"), "wb") as output:
        output.write(raw_header(b"huge", 0, size_field=size_field) + b"x" * 512 + END)


@case("L10e", "a header with a bad checksum", "reject", "T13", error="Unrecognized archive format")
def l10e(out, victim):
    with open(os.path.join(out, "L10e.tar"), "wb") as output:
        output.write(raw_header(b"bad-checksum", 4, checksum_delta=1) + padded(b"data") + END)


@case("L10f", "a NUL inside a name: tar tools read the name up to the NUL", "accept", "T13")
def l10f(out, victim):
    with open(os.path.join(out, "L10f.tar"), "wb") as output:
        output.write(raw_header(b"abc\x00def", 4) + padded(b"data") + END)


@case("L10g", "names that are not UTF-8 (Latin-1 bytes) in ustar and PAX headers", "accept", "T13")
def l10g(out, victim):
    with open(os.path.join(out, "L10g.tar"), "wb") as output:
        output.write(raw_header(b"caf\xe9", 5) + padded(b"latin") + END)


@case("L10h", "duplicate path: a file, then a symlink with the same name (last one wins)", "accept", "T13")
def l10h(out, victim):
    write_tar(os.path.join(out, "L10h.tar"), [file_entry("dup", "first"), symlink_entry("dup", "/etc/passwd")])


@case("L10i", "a PAX x header, then a GNU L header, then a file", "accept", "T13")
def l10i(out, victim):
    record = pax_record(b"path", b"pax-name-for-file")
    data = raw_header(b"PaxHeader/x", len(record), typeflag=b"x") + padded(record)
    long_name = b"gnu-long-name-for-file\x00"
    data += raw_header(b"././@LongLink", len(long_name), typeflag=b"L") + padded(long_name)
    data += raw_header(b"short-name", 4) + padded(b"data")
    with open(os.path.join(out, "L10i.tar"), "wb") as output:
        output.write(data + END)


# L12: diff ID mismatch ---------------------------------------------------------------------------


@case("L12", "a valid layer, which the tests apply with a wrong expected diff ID", "reject", "T23",
      error="diffID mismatch")
def l12(out, victim):
    write_tar(os.path.join(out, "L12.tar"), [file_entry("file", "content")])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--victim", help="absolute path of the victim directory")
    parser.add_argument("cases", nargs="*")
    arguments = parser.parse_args()
    os.makedirs(arguments.out, exist_ok=True)

    selected = [c for c in CASES if not arguments.cases or c["id"] in arguments.cases]
    for entry in selected:
        if entry["needsVictim"] and not arguments.victim:
            continue
        if arguments.victim and not arguments.cases and not entry["needsVictim"]:
            continue
        entry["function"](arguments.out, arguments.victim)

    if not arguments.victim:
        index = [{key: value for key, value in c.items() if key != "function"} for c in CASES]
        with open(os.path.join(arguments.out, "index.json"), "w") as output:
            json.dump(index, output, indent=1, sort_keys=True)
            output.write("\n")


if __name__ == "__main__":
    sys.exit(main())
