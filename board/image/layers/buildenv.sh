# Layer `buildenv`: the build root, a Debian of the firmware's own release in which
# DAHDI's modules are built for the firmware's kernel and the appliance's wheel
# against the firmware's Python. Nothing of it goes into the image as such; it keeps
# the compiler, DKMS and the kernel's headers off the build machine.
#   in: $OUT (the root to make), $KERNEL, $IMAGE/build-packages

bootstrap "$OUT"
# The headers first: dahdi-dkms's own scripts then build its modules for them.
# shellcheck disable=SC2046
apt_install "$OUT" $(read_list "$IMAGE/build-packages" | grep -vx dahdi-dkms) "linux-headers-$KERNEL"
apt_install "$OUT" dahdi-dkms

# DKMS's name for the version: the source's folder, /usr/src/dahdi-VERSION.
dahdi_version=$(cd "$OUT/usr/src" && ls -d dahdi-* | sed -n '1s/^dahdi-//p')
[ -n "$dahdi_version" ] || die "dahdi-dkms left no source in /usr/src"
# Whatever the package's scripts did, the modules for $KERNEL (`dkms build` skips
# what is built already).
in_root "$OUT" dkms build -m dahdi -v "$dahdi_version" -k "$KERNEL" >"$OUT.dkms.log" 2>&1 \
    || { tail -n 30 "$OUT.dkms.log" >&2; die "dkms build of dahdi $dahdi_version for $KERNEL failed (log: $OUT.dkms.log)"; }
rm -f "$OUT.dkms.log"
[ -f "$OUT/var/lib/dkms/dahdi/$dahdi_version/$KERNEL/x86_64/module/dahdi.ko" ] \
    || die "dkms built no dahdi.ko of dahdi $dahdi_version for $KERNEL"
echo "$dahdi_version" >"$OUT/.dahdi-version"
rm -rf "$OUT/var/cache/apt/archives"/* "$OUT/tmp"/*
