#!/bin/sh
# Archives of one small tree, in each compression ADD unpacks, with fixed owners and times.
set -e
T=$(mktemp -d)
mkdir -p "$T/tree/sub"
echo top > "$T/tree/top.txt"; echo nested > "$T/tree/sub/nested.txt"; ln -s top.txt "$T/tree/link"
chmod 0600 "$T/tree/sub/nested.txt"
for c in "czf tree.tar.gz" "cjf tree.tar.bz2" "cJf tree.tar.xz" "cf tree.tar"; do
    set -- $c
    tar -C "$T" --owner=77 --group=88 --mtime=2021-06-01 -$1 "$2" tree
done
echo plain | gzip -n > not-an-archive.gz
rm -rf "$T"
