# Layer `root`: the firmware's Debian, without a kernel: debootstrap's minbase and the
# packages of $IMAGE/packages, what a firmware does not use taken out.
#   in: $OUT (the layer's folder), $IMAGE/packages, $IMAGE/dpkg-excludes
#   out: $OUT/root.sqfs, $OUT/packages.txt (what the root holds, with versions)

root=$OUT/root
bootstrap "$root"
install -m 0644 "$IMAGE/dpkg-excludes" "$root/etc/dpkg/dpkg.cfg.d/90-firmware"

# DAHDI's modules come built for the image's kernel (layer `kernel`); this stands in
# for dahdi-dkms, on which DAHDI's tools depend and which would bring a compiler.
stub=$OUT/stub
mkdir -p "$stub/DEBIAN"
cat >"$stub/DEBIAN/control" <<'CONTROL'
Package: appliance-dahdi-modules
Version: 1.0
Architecture: amd64
Maintainer: Call centre appliance <root@localhost>
Provides: dahdi-dkms
Section: kernel
Priority: optional
Description: DAHDI's kernel modules, built for the firmware's kernel
 The firmware image carries DAHDI's modules built with DKMS for its one kernel, so
 DAHDI's tools are installed without dahdi-dkms and the compiler it needs.
CONTROL
dpkg-deb --build --root-owner-group "$stub" "$root/tmp/appliance-dahdi-modules.deb" >/dev/null
in_root "$root" dpkg -i /tmp/appliance-dahdi-modules.deb >/dev/null
# shellcheck disable=SC2046
apt_install "$root" $(read_list "$IMAGE/packages")
in_root "$root" dpkg-query -W -f '${Package} ${Version}\n' >"$OUT/packages.txt"

# What dpkg unpacked before the exclusions were in place (debootstrap's own), the
# package lists and caches, logs of the build, the sources of udev's hardware database
# (its compiled hwdb.bin stays), numpy's own tests.
find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
find "$root/usr/lib/python3/dist-packages/numpy" -type d -name tests -prune -exec rm -rf {} +
rm -rf "$root/usr/share/man"/* "$root/usr/share/info"/* "$root/usr/share/locale"/* \
    "$root/usr/share/lintian"/* "$root/var/lib/apt/lists"/* "$root/var/cache/apt"/* \
    "$root/var/cache/debconf"/*-old "$root/var/lib/dpkg"/*-old "$root/var/log"/* \
    "$root/usr/lib/udev/hwdb.d"/* "$root/tmp"/* "$root/usr/sbin/policy-rc.d"

# Each boot is a first boot: the machine ID is made anew in RAM, and nothing asks for a
# locale, a time zone or a root password on the console (systemd-firstboot).
: >"$root/etc/machine-id"
ln -sf /dev/null "$root/etc/systemd/system/systemd-firstboot.service"
# No logins on the screen: the box's console is the installer's, on a serial port
# (getty-static starts gettys on tty2-6 when D-Bus is absent, as here).
rm -f "$root/etc/systemd/system/getty.target.wants/getty@tty1.service"
ln -sf /dev/null "$root/etc/systemd/system/getty@.service"
ln -sf /dev/null "$root/etc/systemd/system/getty-static.service"
# The packages' timers (apt's downloads and upgrades, dpkg's backup, fstrim, e2scrub)
# have nothing to do in a root that lives in RAM and is replaced whole.
rm -rf "$root/etc/systemd/system/timers.target.wants"
rm -f "$root/etc/systemd/system/multi-user.target.wants/e2scrub_reap.service"

squash "$root" "$OUT/root.sqfs"
say "root: $(du -sh --exclude=proc --exclude=sys "$root" | cut -f1), $(read_list "$IMAGE/packages" | wc -l)" \
    "packages asked for, $(wc -l <"$OUT/packages.txt") installed"
rm -rf "$root" "$stub"
