#!/usr/bin/env bash
# Holds the layer rules of docs/architecture.md: each layer's sources include only their own
# layer, the layers its "depends on" cell names, and the public core (steadyws/core/*,
# steadyws/error.hpp); the public include/steadyws/ includes nothing from src/. The rules are
# read from the table in the doc, so the drawing and the code cannot drift apart.
set -u
root=${1:-.}
cd "$root" || exit 2
doc=docs/architecture.md
layers=(core protocol hub hub/redis auth asio server client tools cli)

# The "depends on" cell of a layer's row: | layer | folder | depends on | does I/O? |
depends_on() {
  awk -F'|' -v l="$1" '{ gsub(/^ +| +$/, "", $2) } $2 == l { print $4; exit }' "$doc"
}

# The layer an include line names: "hub/redis/x.hpp" -> hub/redis, "steadyws/client.hpp" ->
# client, "steadyws/core/x.hpp" and "steadyws/error.hpp" -> public, anything else -> none.
layer_of_include() {
  case "$1" in
    steadyws/core/* | steadyws/error.hpp) echo public ;;
    steadyws/client*) echo client ;;
    hub/redis/*) echo hub/redis ;;
    */*) local top=${1%%/*}
         for l in "${layers[@]}"; do [ "$l" = "$top" ] && { echo "$l"; return; }; done
         echo none ;;
    *) echo none ;;
  esac
}

bad=0
for layer in "${layers[@]}"; do
  cell=$(depends_on "$layer")
  if [ -z "$cell" ]; then
    echo "check_layers: $doc has no row for layer '$layer'"; bad=1; continue
  fi
  allowed=" $layer public "
  if [[ $cell == *"everything above"* ]]; then
    allowed+="${layers[*]} "
  else
    for l in "${layers[@]}"; do
      grep -qE "(^|[ ,])$l(,|$| )" <<<"$cell" && allowed+="$l "
    done
  fi
  dir=src/$layer
  depth=(-maxdepth 1)
  [ "$layer" = tools ] && depth=()  # src/tools/<program>/: one layer in the table for now
  files=$(find "$dir" "${depth[@]}" \( -name '*.hpp' -o -name '*.cpp' \) 2>/dev/null)
  [ "$layer" = client ] && files+=" $(ls include/steadyws/client*.hpp)"
  for f in $files; do
    while IFS= read -r inc; do
      to=$(layer_of_include "$inc")
      [ "$to" = none ] && continue
      if [[ $allowed != *" $to "* ]]; then
        echo "check_layers: $f includes \"$inc\" ($to), but $doc says $layer depends on: $cell"
        bad=1
      fi
    done < <(sed -nE 's/^#include "([^"]+)".*/\1/p' "$f")
  done
done

# The public headers stand alone: nothing under src/ is reachable from them.
while IFS= read -r line; do
  echo "check_layers: public header includes a private one: $line"; bad=1
done < <(grep -rnE '^#include "' include/steadyws | grep -vE '#include "steadyws/')

[ "$bad" -eq 0 ] && echo "check_layers: every include follows the layer table of $doc"
exit "$bad"
