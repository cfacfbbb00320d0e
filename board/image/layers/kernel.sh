# Layer `kernel`: Debian's kernel $KERNEL (its vmlinuz) and, of its modules, only those
# named in $IMAGE/modules with what they need, beside every DAHDI module built in the
# build root; depmod run for that set. The kernel package is unpacked, not installed:
# its scripts (initramfs-tools, bootloaders) have nothing to do for a firmware.
#   in: $OUT (the layer's folder), $KERNEL, $BUILDENV (the build root), $IMAGE/modules
#   out: $OUT/vmlinuz; $OUT/modules.sqfs (usr/lib/modules/$KERNEL); $OUT/early/: the
#        modules the initramfs loads to mount the layers, and `order`, the order to
#        load them in

scratch=$OUT/scratch
mkdir -p "$scratch"
WORK=$scratch in_root "$BUILDENV" sh -euc '
    cd /work
    apt-get download -q -o APT::Sandbox::User=root "linux-image-$1" >/dev/null
    dpkg-deb -x linux-image-"$1"_*.deb full
' kernel "$KERNEL"
cp "$scratch/full/boot/vmlinuz-$KERNEL" "$OUT/vmlinuz"

# DAHDI's modules where DKMS would install them, then the dependencies of the whole set.
dahdi_version=$(cat "$BUILDENV/.dahdi-version")
mkdir -p "$scratch/full/lib/modules/$KERNEL/updates/dkms"
cp "$BUILDENV/var/lib/dkms/dahdi/$dahdi_version/$KERNEL/x86_64/module/"*.ko \
    "$scratch/full/lib/modules/$KERNEL/updates/dkms/"
# depends NAME...: the module files (relative to the kernel's folder) the names need,
# each after those it needs.
depends() {
    WORK=$scratch in_root "$BUILDENV" sh -euc '
        kernel=$1; shift
        for m in "$@"; do
            modprobe -d /work/full -S "$kernel" --show-depends --ignore-install "$m" >/work/deps \
                || { echo "build-image: error: module $m is not in kernel $kernel" >&2; exit 1; }
            sed -n "s|^insmod /work/full/lib/modules/$kernel/\([^ ]*\).*|\1|p" /work/deps
        done
    ' depends "$KERNEL" "$@"
}
WORK=$scratch in_root "$BUILDENV" depmod -b /work/full "$KERNEL"
# shellcheck disable=SC2046
depends $(read_list "$IMAGE/modules") \
    $(cd "$scratch/full/lib/modules/$KERNEL/updates/dkms" && ls | sed 's/\.ko$//') | sort -u >"$scratch/chosen"

tree=$scratch/tree
mkdir -p "$tree/usr/lib/modules/$KERNEL"
ln -s usr/lib "$tree/lib"
(cd "$scratch/full/lib/modules/$KERNEL" \
    && cpio --quiet -pdm "$tree/usr/lib/modules/$KERNEL" <"$scratch/chosen" \
    && cp modules.order modules.builtin modules.builtin.modinfo "$tree/usr/lib/modules/$KERNEL/")
WORK=$tree in_root "$BUILDENV" depmod -b /work "$KERNEL"
rm "$tree/lib"
squash "$tree" "$OUT/modules.sqfs"

# The initramfs's own: loop devices, squashfs and overlayfs, in the order to load them.
mkdir -p "$OUT/early"
depends loop squashfs overlay | awk '!seen[$0]++' >"$scratch/early"
while read -r f; do
    cp "$scratch/full/lib/modules/$KERNEL/$f" "$OUT/early/"
    basename "$f" >>"$OUT/early/order"
done <"$scratch/early"
say "kernel $KERNEL: $(wc -l <"$scratch/chosen") modules, $(du -sh "$tree/usr/lib/modules" | cut -f1);" \
    "early: $(tr '\n' ' ' <"$OUT/early/order")"
rm -rf "$scratch"
