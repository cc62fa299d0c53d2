#!/usr/bin/env bash
# Install what Mortar needs to build, test and run on Debian 12 (as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(build-essential autoconf automake libtool pkg-config
      libfuse3-dev fuse3 libxxhash-dev librdmacm-dev libibverbs-dev
      libcmocka-dev libssl-dev openssl attr util-linux iproute2 procps psmisc coreutils
      python3 clang-14 libfuzzer-14-dev)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
