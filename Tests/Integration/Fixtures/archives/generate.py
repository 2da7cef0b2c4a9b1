#!/usr/bin/env python3
"""Writes the image archives that kiln's load tests read: must-accept archives and hostile ones.

Archives are written with tarfile's TarInfo objects, or patched byte by byte for the malformed
ones; nothing is ever extracted here. Each case has an ID, a one-line description, the expected
result ("accept" or "reject"), the text the error must contain, and the reliability case it
exercises. index.json lists them for the tests.

Usage: generate.py [--out DIR]
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
MTIME = 1700000000
CASES = []


def case(case_id, description, expect, anchor, error=None):
    def register(function):
        CASES.append({"id": case_id, "description": description, "expect": expect, "anchor": anchor,
                      "error": error, "file": case_id + ".tar", "function": function})
        return function
    return register


# Helpers -------------------------------------------------------------------------------------


def entry(name, kind=tarfile.REGTYPE, size=0, mode=0o644, link=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = size
    info.mode = mode
    info.mtime = MTIME
    info.linkname = link
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def tar_bytes(members, fmt=tarfile.PAX_FORMAT):
    """members: list of (TarInfo, bytes or None)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as archive:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def base_layer():
    """A small root filesystem with the must-accept shapes of real images: an absolute entry
    name, a hard link with an absolute target (the kaniko style) and an absolute symlink."""
    return tar_bytes([
        (entry("etc/", tarfile.DIRTYPE, mode=0o755), None),
        (entry("etc/os-release"), b"NAME=kiln-test\n"),
        (entry("/etc/kiln-abs"), b"absolute name\n"),
        (entry("usr/", tarfile.DIRTYPE, mode=0o755), None),
        (entry("usr/bin/", tarfile.DIRTYPE, mode=0o755), None),
        (entry("usr/bin/perlbug", mode=0o755), b"#!/bin/sh\necho perlbug\n"),
        (entry("usr/bin/perlthanks", tarfile.LNKTYPE, link="/usr/bin/perlbug"), None),
        (entry("etc/alternatives/", tarfile.DIRTYPE, mode=0o755), None),
        (entry("etc/alternatives/x", tarfile.SYMTYPE, link="/usr/bin/perlbug"), None),
    ])


def top_layer():
    return tar_bytes([(entry("etc/motd"), b"hello from the top layer\n")])


def config(diff_ids):
    return canonical({
        "architecture": "amd64", "os": "linux", "created": "2024-05-01T12:00:00Z",
        "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/usr/bin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2024-05-01T12:00:00Z", "created_by": "ADD base /"},
                    {"created": "2024-05-01T12:00:01Z", "created_by": "COPY motd /etc/motd"}],
    })


def docker_archive(layers, config_bytes=None, repo_tags=("kiln-fixture:1",), layer_paths=None, config_path=None):
    """A docker-archive as `docker save` before Docker 25 wrote it: a directory per layer."""
    config_bytes = config_bytes or config([sha256(layer) for layer in layers])
    config_name = config_path or hashlib.sha256(config_bytes).hexdigest() + ".json"
    members = []
    paths = []
    for layer in layers:
        directory = hashlib.sha256(layer).hexdigest()
        members.append((entry(directory + "/", tarfile.DIRTYPE, mode=0o755), None))
        members.append((entry(directory + "/VERSION"), b"1.0"))
        members.append((entry(directory + "/layer.tar"), layer))
        paths.append(directory + "/layer.tar")
    members.append((entry(config_name), config_bytes))
    manifest = [{"Config": config_name, "RepoTags": list(repo_tags), "Layers": layer_paths or paths}]
    members.append((entry("manifest.json"), json.dumps(manifest).encode()))
    return tar_bytes(members)


def oci_layout(layers, compress=True, omit=(), corrupt=(), name="kiln-fixture:1", config_bytes=None):
    """An OCI image layout tar with gzip layers; `omit` and `corrupt` name blobs by role."""
    blobs = {}
    descriptors = []
    raw_layers = []
    for layer in layers:
        data = gzip.compress(layer, mtime=0) if compress else layer
        raw_layers.append(layer)
        blobs[sha256(data)] = data
        descriptors.append({"mediaType": "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if compress else ""),
                            "digest": sha256(data), "size": len(data)})
    config_bytes = config_bytes or config([sha256(layer) for layer in raw_layers])
    blobs[sha256(config_bytes)] = config_bytes
    manifest = canonical({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                          "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                     "digest": sha256(config_bytes), "size": len(config_bytes)},
                          "layers": descriptors})
    blobs[sha256(manifest)] = manifest
    index = canonical({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                       "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                      "digest": sha256(manifest), "size": len(manifest),
                                      "annotations": {"org.opencontainers.image.ref.name": name}}]})
    roles = {"layer0": descriptors[0]["digest"] if descriptors else None, "config": sha256(config_bytes)}
    members = [(entry("oci-layout"), b'{"imageLayoutVersion":"1.0.0"}'),
               (entry("blobs/", tarfile.DIRTYPE, mode=0o755), None),
               (entry("blobs/sha256/", tarfile.DIRTYPE, mode=0o755), None)]
    for digest, data in blobs.items():
        if any(roles.get(role) == digest for role in omit):
            continue
        if any(roles.get(role) == digest for role in corrupt):
            data = data[:-1] + bytes([data[-1] ^ 0xFF])
        members.append((entry("blobs/sha256/" + digest[7:]), data))
    members.append((entry("index.json"), index))
    return tar_bytes(members)


# Must still be accepted ----------------------------------------------------------------------


@case("A00", "docker-archive of two layers with absolute names, an absolute hard link and symlink", "accept", "L02")
def good_docker():
    return docker_archive([base_layer(), top_layer()])


@case("A00b", "the same image as an OCI image layout with gzip layers", "accept", "L02")
def good_oci():
    return oci_layout([base_layer(), top_layer()])


@case("A12", "layer: symlink localetc -> /etc, then file localetc/kiln-pwn (resolved inside the root)", "accept", "L03")
def symlink_into_root():
    layer = tar_bytes([(entry("localetc", tarfile.SYMTYPE, link="/etc"), None),
                       (entry("localetc/kiln-pwn"), b"PWNED\n")])
    return docker_archive([layer], repo_tags=("kiln-symlink:1",))


# Rejected ------------------------------------------------------------------------------------


@case("A01", "docker-archive cut off in the middle of a layer", "reject", "S01", error="the archive is truncated")
def truncated():
    data = docker_archive([base_layer(), top_layer()])
    return data[:len(data) // 2 + 100]


@case("A02", "a header whose checksum does not match", "reject", "L10", error="header checksum mismatch")
def corrupt_checksum():
    data = bytearray(docker_archive([base_layer()]))
    data[3] ^= 0x20
    return bytes(data)


@case("A03", "OCI layout whose layer blob does not hash to its file name", "reject", "N04",
      error="digest mismatch")
def digest_mismatch():
    return oci_layout([base_layer()], corrupt=("layer0",))


@case("A04", "OCI manifest that names a layer blob missing from the archive", "reject", "N11",
      error="missing from the archive")
def missing_blob():
    return oci_layout([base_layer()], omit=("layer0",))


@case("A05", "docker-archive manifest.json with layer path ../../etc/passwd", "reject", "N11",
      error="leaves the archive")
def manifest_dotdot():
    return docker_archive([base_layer()], layer_paths=["../../etc/passwd"])


@case("A06", "docker-archive manifest.json with layer path /etc/passwd", "reject", "N11", error="is an absolute path")
def manifest_absolute():
    return docker_archive([base_layer()], layer_paths=["/etc/passwd"])


@case("A07", "layer with entries ../../victim/pwn and a/../../victim/pwn3", "reject", "L01",
      error="../../victim/pwn")
def layer_escape():
    layer = tar_bytes([(entry("../../victim/pwn"), b"PWN!"), (entry("a/../../victim/pwn3"), b"PWN!")])
    return docker_archive([layer], repo_tags=("kiln-escape:1",))


@case("A08", "outer archive with a 2 MiB PAX header", "reject", "L10", error="exceeds the limit")
def oversized_header():
    info = entry("manifest.json")
    info.pax_headers = {"comment": "x" * (2 << 20)}
    return tar_bytes([(info, b"[]")])


@case("A09", "config that is not JSON", "reject", "N08", error="invalid image config")
def config_not_json():
    return docker_archive([base_layer()], config_bytes=b"{this is not json", config_path="config.json")


@case("A10", "config diff_ids that do not match the layer", "reject", "L12", error="diffID mismatch")
def diff_id_mismatch():
    bogus = "sha256:" + "0" * 64
    return docker_archive([base_layer()], config_bytes=config([bogus]), repo_tags=("kiln-diffid:1",))


@case("A11", "layer with the whiteout ../.wh.victim", "reject", "L07", error=".wh.victim")
def whiteout_escape():
    layer = tar_bytes([(entry("../.wh.victim"), b"")])
    return docker_archive([layer], repo_tags=("kiln-whiteout:1",))


@case("A13", "layer with a hard link to ../../../../etc/passwd, missing inside the root", "reject", "L05",
      error="lp")
def hardlink_escape():
    layer = tar_bytes([(entry("lp", tarfile.LNKTYPE, link="../../../../etc/passwd"), None)])
    return docker_archive([layer], repo_tags=("kiln-hardlink:1",))


@case("A14", "docker-archive RepoTags with an invalid reference", "reject", "N08", error="RepoTags[0]")
def invalid_tag():
    return docker_archive([base_layer()], repo_tags=("Not/Valid:Tag!",))


@case("A15", "a JSON document instead of a tar", "reject", "L10", error="not a tar archive")
def not_a_tar():
    return b'{"schemaVersion": 2}\n'


@case("A16", "upper layer with a hard link g to the file f of the layer below", "reject", "L05",
      error='entry "g": hard link target "f" is not in this layer')
def hardlink_to_lower_layer():
    lower = tar_bytes([(entry("f"), b"file of the lower layer\n")])
    upper = tar_bytes([(entry("g", tarfile.LNKTYPE, link="f"), None)])
    return docker_archive([lower, upper], repo_tags=("kiln-hardlink-lower:1",))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=HERE)
    arguments = parser.parse_args()
    index = []
    for item in CASES:
        data = item["function"]()
        with open(os.path.join(arguments.out, item["file"]), "wb") as output:
            output.write(data)
        index.append({key: value for key, value in item.items() if key != "function"})
    with open(os.path.join(arguments.out, "index.json"), "w") as output:
        json.dump(sorted(index, key=lambda item: item["id"]), output, indent=2)
        output.write("\n")


if __name__ == "__main__":
    main()
