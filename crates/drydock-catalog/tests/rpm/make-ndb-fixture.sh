#!/bin/sh
# Regenerates ndb/: a real rpm "ndb" database (Packages.db) holding the
# packages built from specs/, and what rpm itself reports about it.
#
# Debian's rpm is built without the ndb backend (`rpm --showrc | grep backends`
# says "sqlite bdb_ro dummy"), so this needs an rpm built with --enable-ndb,
# named by $RPM. How ndb/ was made (rpm 4.18.0, Debian bookworm):
#   apt-get source rpm && apt-get build-dep rpm
#   cd rpm-4.18.0+dfsg && ./configure --prefix=/opt/rpm-ndb --enable-ndb \
#       --enable-bdb-ro --with-lua --disable-python --without-selinux \
#       --disable-plugins LUA_CFLAGS="$(pkg-config --cflags lua5.3)" \
#       LUA_LIBS="$(pkg-config --libs lua5.3)" && make && make install
#   RPM=/opt/rpm-ndb/bin/rpm sh make-ndb-fixture.sh
# The ndb test in tests/rpm.rs reads ndb/ and needs no rpm at all; the sqlite
# and Berkeley DB tests build their databases live with the same specs.
set -eu
: "${RPM:?set RPM to an rpm built with the ndb backend}"
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for spec in "$here"/specs/*.spec; do
    rpmbuild -bb --quiet --define "_topdir $work/build" "$spec"
done
mkdir "$work/db"
"$RPM" --initdb --dbpath "$work/db" --define '_db_backend ndb'
"$RPM" -i --justdb --nodeps --dbpath "$work/db" --define '_db_backend ndb' \
    $(find "$work/build/RPMS" -name '*.rpm' | sort)
query() {
    "$RPM" --dbpath "$work/db" --define '_db_backend ndb' "$@"
}
mkdir -p "$here/ndb"
cp "$work/db/Packages.db" "$here/ndb/Packages.db"
query -qa --qf "$(cat "$here/packages.qf")" | sort > "$here/ndb/packages.tsv"
query -qa --qf "$(cat "$here/files.qf")" | sort > "$here/ndb/files.tsv"
