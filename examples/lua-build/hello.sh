#!/bin/sh
# Prints what the image was built from.
echo "hello from $(cat /app/VERSION 2>/dev/null || echo the app) on busybox $BASE_VERSION"
