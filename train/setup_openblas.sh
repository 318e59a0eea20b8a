#!/bin/sh
# Debian's python3-torch links the reference (netlib) BLAS: 1x1 convs/linears run ~40x slower than with OpenBLAS.
# Fetch Debian's libopenblas0-pthread .deb and unpack it under train/work/openblas (no system-wide change);
# train.py re-executes itself with LD_LIBRARY_PATH pointing there when it exists.
set -e
cd "$(dirname "$0")"
mkdir -p work/debs
cd work/debs
apt-get download libopenblas0-pthread
dpkg -x libopenblas0-pthread_*.deb ../openblas
ls ../openblas/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3
