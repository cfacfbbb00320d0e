# What the image's recipes share, sourced by tools/build-image (POSIX sh, set -eu).
# A change here changes every layer's key: each layer is built again.
#
# Rules:
#   - Everything that mounts does so in a mount namespace of its own (unshare), so
#     nothing stays mounted on the build machine whatever fails or is interrupted.
#   - Packages come from the Debian mirror through debootstrap and apt-get inside the
#     roots being built; the build machine's own packages are not touched.
#   - Downloaded packages are kept in $DEBS, shared by every root and every build.

say() {
    printf 'build-image: %s\n' "$*" >&2
}

die() {
    say "error: $*"
    exit 1
}

# The names in a list file: one a line, '#' to the end of the line a comment.
read_list() {
    sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$1"
}

# in_root ROOT COMMAND...: COMMAND chrooted in ROOT, with /proc, /sys and /dev, the
# shared package cache as /var/cache/apt/archives and, when $WORK is set, that
# directory as /work. A clean environment: no variable of the caller leaks in.
in_root() {
    root=$1; shift
    unshare --mount --propagation private sh -euc '
        root=$1 debs=$2 work=$3; shift 3
        mount -t proc proc "$root/proc"
        mount -t sysfs sysfs "$root/sys"
        mount --rbind /dev "$root/dev"
        mkdir -p "$root/var/cache/apt/archives"
        mount --bind "$debs" "$root/var/cache/apt/archives"
        if [ -n "$work" ]; then
            mkdir -p "$root/work"
            mount --bind "$work" "$root/work"
        fi
        exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
            LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true "$@"
    ' in_root "$root" "$DEBS" "${WORK:-}" "$@"
}

# bootstrap ROOT: Debian's minimal base (debootstrap's minbase) in ROOT, with the main,
# updates and security suites, package lists read, and no service started by a
# package's scripts while the root is being built (policy-rc.d).
bootstrap() {
    unshare --mount --propagation private \
        debootstrap --variant=minbase --cache-dir="$DEBS" "$SUITE" "$1" "$MIRROR" >"$1.debootstrap.log" 2>&1 \
        || { tail -n 20 "$1.debootstrap.log" >&2; die "debootstrap of $SUITE from $MIRROR failed (log: $1.debootstrap.log)"; }
    rm -f "$1.debootstrap.log"
    cat >"$1/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
    printf '#!/bin/sh\nexit 101\n' >"$1/usr/sbin/policy-rc.d"
    chmod 0755 "$1/usr/sbin/policy-rc.d"
    in_root "$1" apt-get update -q >/dev/null
}

# apt_install ROOT PACKAGE...: the packages and what they depend on, not what they
# recommend.
apt_install() {
    root=$1; shift
    in_root "$root" apt-get install -y -q --no-install-recommends "$@" >"$root.apt.log" 2>&1 \
        || { tail -n 30 "$root.apt.log" >&2; die "apt-get install in $root failed (log: $root.apt.log)"; }
    rm -f "$root.apt.log"
}

# squash DIR FILE: DIR as a squashfs image (zstd), owners and modes kept. The firmware
# mounts its layers' images one over another (overlayfs), read-only, with a RAM
# folder on top for what changes while it runs.
squash() {
    mksquashfs "$1" "$2" -noappend -quiet -no-progress -comp zstd -Xcompression-level 15 >/dev/null \
        || die "mksquashfs of $1 failed"
}

# enable_unit ROOT UNIT [INSTANCE]: what `systemctl enable` does, in ROOT: a link to the
# unit (its instance, for a template) in the .wants folder of each target its
# WantedBy= names.
enable_unit() {
    file=$1/etc/systemd/system/$2
    [ -f "$file" ] || die "no unit $2 in $1/etc/systemd/system"
    name=$2
    [ $# -lt 3 ] || name=${2%@.service}@$3.service
    targets=$(sed -n 's/^WantedBy=//p' "$file")
    [ -n "$targets" ] || die "unit $2 has no WantedBy="
    for t in $targets; do
        mkdir -p "$1/etc/systemd/system/$t.wants"
        ln -sfn "/etc/systemd/system/$2" "$1/etc/systemd/system/$t.wants/$name"
    done
}
