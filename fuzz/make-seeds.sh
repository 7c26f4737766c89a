#!/usr/bin/env bash
# Writes the fuzz targets' seed corpus (fuzz/corpus/<target>/): small hand-made inputs, valid and
# nearly valid, from which libFuzzer starts. The corpus is committed; run this only to change it
# (it needs the zstd command: apt-get install zstd). Every file is made the same way each time.
# Inputs that once crashed a target (crash-*) were added by hand and are left as they are.
set -euo pipefail
cd "$(dirname "$0")"

dev=0192f0c0-0000-7000-8000-00000000d00d # doorstep_server::fuzzing::DEVICE_ID
vol=0192f0c0-0000-7000-8000-0000000000aa # doorstep_server::fuzzing::VOLUNTEER_ID
# The fuzzing server's clock is 2026-11-28T12:00:00Z.
sent='2026-11-28T18:55:00+07:00'

visit() { # id household outcome people phones already now location [extra]
  printf '{"id":"0192f0c0-0000-7000-8000-%012d","revision":1,"device_seq":%d,"device_id":"%s","volunteer_id":"%s","area_code":"18073","household":{"id":"0192f0c0-0000-7000-8000-1%011d","address":"12 Phan Đình Phùng"},"visited_at":"2026-11-28T09:15:00+07:00","outcome":"%s","people":%d,"smartphones":%d,"already_installed":%d,"installed_now":%d,"leaflet_given":true,"location":%s%s}' \
    "$1" "$1" "$dev" "$vol" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "${9:-}"
}
gps='{"source":"gps","lat":18.3421,"lon":105.9057,"accuracy_m":8.5}'
manual='{"source":"manual","lat":18.35,"lon":105.91}'
none='{"source":"none"}'
batch() { printf '{"device_id":"%s","sent_at":"%s","records":[%s]}' "$dev" "$sent" "$1"; }

v1=$(visit 1 1 installed_now 4 3 1 2 "$gps")
v2=$(visit 2 2 not_home 0 0 0 0 "$none" ',"notes":"Hẹn quay lại\nchiều mai"')
v3=$(visit 3 3 refused 3 2 0 0 "$manual" ',"reason":"Không muốn cài"')
bad_people=$(visit 4 4 partial -1 0 0 0 "$gps")
bad_outcome=$(visit 5 5 maybe 2 1 0 0 "$gps")
bad_reason=$(visit 6 6 refused 2 1 0 0 "$gps")
bad_place=$(visit 7 7 already_installed 2 1 1 0 '{"source":"gps","lat":91.0,"lon":105.9}')
# NFD Vietnamese (decomposed marks), an id that is not a UUIDv7, a time before any campaign.
nfd=$(visit 8 8 no_smartphone 1 0 0 0 "$none" ',"notes":"Nha\u0300 vă\u0306ng"')
not_v7=$(visit 9 9 installed_now 1 1 0 1 "$gps" | sed 's/0192f0c0-0000-7000-8000-000000000009/0192f0c0-0000-4000-8000-000000000009/')
too_old=$(visit 10 10 installed_now 1 1 0 1 "$gps" | sed 's/2026-11-28T09:15/2019-12-31T09:15/')
other_device=$(visit 11 11 installed_now 1 1 0 1 "$gps" | sed "s/\"device_id\":\"$dev\"/\"device_id\":\"0192f0c0-0000-7000-8000-00000000beef\"/")

mkdir -p corpus/push_plain corpus/push_zstd corpus/push_venues corpus/area_file corpus/buildings_file

p=corpus/push_plain
batch "$v1,$v2" >$p/valid-two-visits.json
batch "$v1,$v2,$v3" >$p/valid-three-outcomes.json
batch "$v1,$bad_people,$bad_outcome,$bad_reason,$bad_place,$nfd,$not_v7,$too_old,$other_device,{\"id\":\"x\"},[],7" \
  >$p/mixed-valid-and-refused.json
batch "" >$p/no-records.json
batch "$v1" | sed "s/\"device_id\":\"$dev\",\"sent_at\"/\"device_id\":\"0192f0c0-0000-7000-8000-00000000beef\",\"sent_at\"/" \
  >$p/another-device.json
batch "$v1" | sed "s/$sent/yesterday/" >$p/bad-sent-at.json
batch "$v1,$v2" | head -c 300 >$p/truncated.json
printf '{"device_id":"%s","sent_at":"%s","records":"\xff\xfe"}' "$dev" "$sent" >$p/invalid-utf8.bin
printf '{"device_id":"%s","sent_at":"%s","records":[%s],"device_id":"%s"}' "$dev" "$sent" "$v1" "$dev" \
  >$p/duplicate-key.json
batch "$(printf '%s,' $(seq 1 70) | sed 's/,$//')" >$p/too-many-records.json
# A lone surrogate escape: the envelope skips it, the record cannot be read and is refused alone.
batch "$v1,$(visit 12 12 installed_now 1 1 0 1 "$gps" | sed 's/Phan Đình Phùng/Phan \\ud800/')" >$p/lone-surrogate.json

z=corpus/push_zstd
# zstd declares the size only of what it reads from a file.
zsized() {
  local t
  t=$(mktemp)
  cat >"$t"
  zstd -q -c "$@" "$t"
  rm -f "$t"
}
# Mode byte 0: the body as sent. With its size declared (as from a file), without (from a pipe).
{ printf '\x00'; batch "$v1,$v2" | zsized; } >$z/raw-sized.zst
{ printf '\x00'; batch "$v1,$bad_people" | zstd -q -c --no-content-size; } >$z/raw-streamed.zst
# Bombs: 1 MiB of spaces inside the JSON (the fuzzing limit is 64 KiB), declared and not.
bomb() { printf '{"device_id":"%s","sent_at":"%s","records":[' "$dev" "$sent"; head -c 1048576 /dev/zero | tr '\0' ' '; printf ']}'; }
{ printf '\x00'; bomb | zsized -19; } >$z/raw-bomb-declared.zst
{ printf '\x00'; bomb | zstd -q -c -19 --no-content-size; } >$z/raw-bomb-streamed.zst
{ printf '\x00'; batch "$v1,$v2" | zsized | head -c 120; } >$z/raw-truncated.zst
{ printf '\x00'; batch "$v1" | zsized; batch "$v2" | zsized; } >$z/raw-two-frames.zst
# Mode bytes 1 and 2: a plain body the target compresses itself.
{ printf '\x01'; batch "$v1,$v2"; } >$z/plain-sized.json
{ printf '\x02'; batch "$v1,$bad_outcome,$nfd"; } >$z/plain-streamed.json

venue() { # n kind people phones already now notices log
  printf '{"id":"0192f0c0-0000-7000-8000-%012d","revision":1,"device_seq":%d,"device_id":"%s","volunteer_id":"%s","area_code":"18073","venue":{"id":"0192f0c0-0000-7000-8000-2%011d","kind":"%s","name":"Trường THCS Lê Văn Thiêm","address":"Nam Hà"},"visited_at":"2026-11-28T10:00:00+07:00","people_reached":%d,"smartphones":%d,"already_installed":%d,"installed_now":%d,"notices_posted":%d%s,"location":%s}' \
    "$1" "$1" "$dev" "$vol" "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "$gps"
}
n=corpus/push_venues
batch "$(venue 21 school 120 80 30 20 4 ''),$(venue 22 transport_hub 40 30 5 5 2 ',"visitor_log":{"came_in":300,"told":120,"installed":40}')" \
  >$n/valid-two-venues.json
batch "$(venue 23 spaceport 1 1 0 0 0 ''),$(venue 24 shop 5 2 2 1 0 ''),$(venue 25 hotel 5 2 0 0 1 ',"visitor_log":{"came_in":3,"told":9,"installed":0}'),$(venue 26 agency 1 1 0 0 0 ',"visitor_log":{"came_in":3,"told":2,"installed":3}')" \
  >$n/mixed-valid-and-refused.json

a=corpus/area_file
cat >$a/gso-three-tier-excerpt.json <<'EOF'
{"source":"excerpt of data/areas/ha-tinh-2020-three-tier.json","province":{"code":42,"name":"Tỉnh Hà Tĩnh","division_type":"tỉnh","districts":[
{"code":436,"name":"Thành phố Hà Tĩnh","division_type":"huyện","communes":[{"code":18073,"name":"Phường Nam Hà","division_type":"xã"},{"code":18077,"name":"Phường Bắc Hà","division_type":"xã"}]},
{"code":437,"name":"Thị xã Hồng Lĩnh","division_type":"huyện","communes":[{"code":18115,"name":"Phường Bắc Hồng","division_type":"xã","villages":[{"code":"18115-01","name":"Tổ dân phố 1"}]}]}]}}
EOF
cat >$a/gso-two-tier-excerpt.json <<'EOF'
{"province":{"code":"42","name":"Hà Tĩnh","division_type":"tỉnh","communes":[{"code":18754,"name":"Phường Sông Trí","division_type":"phường"},{"code":18781,"name":"Phường Hải Ninh","division_type":"phường","children":[]}]}}
EOF
printf '%s' '{"province":{"code":42,"name":"Hà Tĩnh","communes":[{"code":1,"name":"A"}],"wards":[{"code":2,"name":"B"}]}}' >$a/gso-two-lists.json
printf '%s' '{"province":{"code":42,"name":"Hà Tĩnh","communes":[{"code":42,"name":"again"}]}}' >$a/gso-duplicate-code.json
printf '%s' '{"province":{"code":"4 2","name":" "}}' >$a/gso-bad-code-and-name.json
cat >$a/geojson-boundaries.json <<'EOF'
{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"code":"18073-01","name":"Thôn 1","parent_code":"18073-x","division_type":"thôn"},"geometry":{"type":"Polygon","coordinates":[[[105.9,18.3],[105.91,18.3],[105.91,18.31],[105.9,18.31],[105.9,18.3]],[[105.902,18.302],[105.903,18.302],[105.903,18.303],[105.902,18.302]]]}},
{"type":"Feature","properties":{"code":"18073-x","name":"Xóm","parent_code":""},"geometry":{"type":"MultiPolygon","coordinates":[[[[105.8,18.2],[106.0,18.2],[106.0,18.4],[105.8,18.2]]],[[[105.7,18.1],[105.75,18.1],[105.75,18.15],[105.7,18.1]]]]}},
{"type":"Feature","properties":{"code":18074,"name":"Thôn 2"},"geometry":null}]}
EOF
cat >$a/geojson-cycle.json <<'EOF'
{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"a","name":"A","parent_code":"b"},"geometry":null},{"type":"Feature","properties":{"code":"b","name":"B","parent_code":"a"},"geometry":null}]}
EOF
cat >$a/geojson-orphan-and-point.json <<'EOF'
{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"a","name":"A","parent_code":"zz"},"geometry":null},{"type":"Feature","properties":{"code":"b","name":"B"},"geometry":{"type":"Point","coordinates":[105.9,18.3]}}]}
EOF
printf '%s' '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"x"},"geometry":null},{"type":"Feature"}]}' \
  >$a/geojson-missing-properties.json

b=corpus/buildings_file
cat >$b/collection.geojson <<'EOF'
{"type":"FeatureCollection","features":[
{"type":"Feature","id":"way/1","properties":{"building":"house","addr:housenumber":"12","addr:street":"Phan Đình Phùng"},"geometry":{"type":"Polygon","coordinates":[[[105.901,18.341],[105.9011,18.341],[105.9011,18.3411],[105.901,18.3411],[105.901,18.341]]]}},
{"type":"Feature","properties":{"@id":"node/2"},"geometry":{"type":"Point","coordinates":[105.905,18.345]}},
{"type":"Feature","id":3,"properties":null,"geometry":{"type":"MultiPolygon","coordinates":[[[[106.0,18.0],[106.0002,18.0],[106.0002,18.0002],[106.0,18.0]]]]}}
]}
EOF
printf '\036{"type":"Feature","geometry":{"type":"Point","coordinates":[105.95,18.35]}}\n\036{"type":"Feature","properties":{"osm_id":9},"geometry":{"type":"Point","coordinates":[106.6,18.0]}}\n' \
  >$b/sequence.geojsonseq
cat >$b/bad-features.geojson <<'EOF'
{"type":"FeatureCollection","features":[
{"type":"Feature","geometry":{"type":"LineString","coordinates":[[105.9,18.3],[105.8,18.3]]}},
{"type":"Feature","geometry":{"type":"Point","coordinates":[18.3,105.9]}},
{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[105.0,18.0],[105.1,18.0],[105.0,18.1]]]}},
{"type":"Feature","geometry":null}
]}
EOF

du -sh corpus
