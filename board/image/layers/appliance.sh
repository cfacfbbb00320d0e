# Layer `appliance`: the box itself from the checkout, made on every build: its wheel
# installed under /usr/local, its units, user, directories and udev rule
# (tools/install-units), the image's own files ($IMAGE/overlay), the demo office as the
# configuration a new box starts with, and which units start at boot.
#   in: $OUT (the layer's folder), $REPO, $BUILDENV, $WHEEL (the wheel's file)
#   out: $OUT/appliance.sqfs

stage=$OUT/stage
mkdir -p "$stage"
cp "$WHEEL" "$OUT/"
# pip of the firmware's Debian puts the package in /usr/local/lib/python3.11/dist-packages,
# the command in /usr/local/bin (its Python in the first line), and compiles the modules:
# /usr is read-only to the service, which could not keep them compiled itself.
WORK=$OUT in_root "$BUILDENV" env PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q \
    --root /work/stage --no-deps --no-index --ignore-installed --break-system-packages \
    --no-warn-script-location --disable-pip-version-check "/work/$(basename "$WHEEL")"
[ -x "$stage/usr/local/bin/appliance" ] || die "the wheel installed no /usr/local/bin/appliance"

DESTDIR=$stage sh "$REPO/tools/install-units" /usr/local/bin/appliance
cp -R "$IMAGE/overlay/." "$stage/"
install -d "$stage/etc/appliance"
install -m 0644 "$REPO/appliance/demo-office.toml" "$stage/etc/appliance/office.toml"

# Started at boot: the supervisor, DAHDI's spans, the installer's console on the first
# serial port (no getty there: it would fight the console for the port) and the test
# rig's shell (which starts only when the kernel's command line asks for the rig).
enable_unit "$stage" appliance.service
enable_unit "$stage" dahdi.service
enable_unit "$stage" appliance-console@.service ttyS0
enable_unit "$stage" rig-shell.service
ln -s /dev/null "$stage/etc/systemd/system/serial-getty@ttyS0.service"

squash "$stage" "$OUT/appliance.sqfs"
