# python:3.11-slim for the demo and the end-to-end test: Debian bookworm's Python 3.11 with pip
# and venv, set up so that `pip install` works as it does in the official images.
FROM debian:bookworm-slim

ENV LANG=C.UTF-8 \
    PYTHON_VERSION=3.11

# The extra CA certificates of the machine that builds the image (its
# /usr/local/share/ca-certificates), so that pip works behind the same TLS-inspecting proxy as
# the host. The folder is empty where the host has none.
COPY extra-ca/ /usr/local/share/ca-certificates/

# Debian marks its Python as externally managed (PEP 668), which makes a plain `pip install`
# fail; the official images have no such marker, so the file is removed here.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-pip python3-venv ca-certificates \
    && update-ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && rm -f /usr/lib/python3.11/EXTERNALLY-MANAGED \
    && ln -sf /usr/bin/python3 /usr/local/bin/python \
    && if [ ! -e /usr/bin/pip ]; then ln -s /usr/bin/pip3 /usr/local/bin/pip; fi

CMD ["python3"]
