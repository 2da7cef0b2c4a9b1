#!/bin/sh
# A tree with nested directories, a link inside it, a hard link and modes to keep.
set -e
mkdir -p tree/sub/deeper ignored
echo a > tree/a.txt; echo b > tree/b.txt; echo deep > tree/sub/deeper/deep.txt
chmod 0755 tree/b.txt; chmod 0700 tree/sub/deeper
ln -sf a.txt tree/link-to-a; ln -f tree/a.txt tree/hard-a
echo secret > ignored/secret.txt
