#!/usr/bin/env bash
# deploy/dockerfile-as-shell.sh <outdir>: the repository's Dockerfile, run without Docker.
#
# Container images cannot be pulled or built in CI, so this script carries out the Dockerfile's instructions as
# plain shell, with the host's node standing in for the base image's (apps/server/test/deploy.test.ts):
#   - the build context is a copy of the working tree filtered by .dockerignore;
#   - every stage gets a folder standing for its filesystem root; the last stage's is <outdir>, so the image's
#     /app is <outdir>/app;
#   - RUN runs `sh -c` in the stage's WORKDIR with a clean environment (the stage's ENV, HOME, PATH with the
#     stage's /usr/local/bin first, npm's global prefix in the stage, pnpm's store, proxy and CA settings); RUN commands
#     must use paths relative to WORKDIR, since they are not confined to the stage here;
#   - COPY [--from=<stage>] copies from the context or an earlier stage's folder, as Docker does (a folder's
#     contents, a file into a folder ending in /);
#   - ENV, USER, EXPOSE, HEALTHCHECK and CMD of the last stage are written to <outdir>/.image.json, which the test
#     uses to start the image's command. USER and COPY --chown are recorded, not applied.
# Anything else (ARG, ADD, wildcards, quoting, RUN --mount, exec-form RUN, "!" in .dockerignore, …) stops the
# script with a message: extend it here rather than letting it guess.
set -euo pipefail
shopt -s dotglob nullglob

die() {
  echo "dockerfile-as-shell: $*" >&2
  exit 1
}
[ $# -eq 1 ] || die "usage: deploy/dockerfile-as-shell.sh <outdir> (a missing or empty folder)"
repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
[ -z "$(ls -A "$out")" ] || die "$out is not empty"
work=$(mktemp -d "${TMPDIR:-/tmp}/dockerfile-as-shell.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- the build context: the working tree minus .dockerignore ------------------------------------------------------

# A .dockerignore pattern as an anchored regular expression over paths relative to the context: `**/` is any
# number of folders, `*` and `?` stay within one path segment (Go's filepath.Match, as Docker uses).
glob_to_regex() {
  local glob=$1 re='' i c
  for ((i = 0; i < ${#glob}; i++)); do
    c=${glob:i:1}
    if [[ $c == '*' && ${glob:i+1:1} == '*' ]]; then
      if [[ ${glob:i+2:1} == '/' ]]; then
        re+='(.*/)?'
        i=$((i + 2))
      else
        re+='.*'
        i=$((i + 1))
      fi
    elif [[ $c == '*' ]]; then
      re+='[^/]*'
    elif [[ $c == '?' ]]; then
      re+='[^/]'
    else
      case $c in
        . | + | '^' | '$' | '(' | ')' | '{' | '}' | '|') re+="\\$c" ;;
        *) re+=$c ;;
      esac
    fi
  done
  printf '^%s$' "$re"
}

ignore=()
if [ -f "$repo/.dockerignore" ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}
    line=$(printf '%s' "$line" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//')
    [[ -z $line || $line == \#* ]] && continue
    [[ $line == \!* ]] && die ".dockerignore: exceptions (!) are not supported: $line"
    [[ $line == *[\[\]\\]* ]] && die ".dockerignore: character classes and escapes are not supported: $line"
    line=${line#/}
    line=${line%/}
    ignore+=("$(glob_to_regex "$line")")
  done <"$repo/.dockerignore"
fi

ignored() {
  local re
  for re in "${ignore[@]}"; do [[ $1 =~ $re ]] && return 0; done
  return 1
}

# An ignored folder is skipped whole (its files are below a matching path, as in Docker).
copy_context() {
  local dir=$1 entry rel
  for entry in "$repo/$dir"*; do
    rel=${entry#"$repo/"}
    ignored "$rel" && continue
    if [[ -d $entry && ! -L $entry ]]; then
      mkdir -p "$work/context/$rel"
      copy_context "$rel/"
    else
      cp -a "$entry" "$work/context/$rel"
    fi
  done
}
mkdir -p "$work/context"
copy_context ''

# --- the Dockerfile: comments dropped, continued lines joined -----------------------------------------------------

instructions=()
buffer=''
while IFS= read -r line || [ -n "$line" ]; do
  line=${line%$'\r'}
  [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
  if [[ $line == *\\ ]]; then
    buffer+="${line%\\}"
    continue
  fi
  instructions+=("$buffer$line")
  buffer=''
done <"$repo/Dockerfile"
[ -z "$buffer" ] || die "Dockerfile: the last instruction ends with a line continuation"

stages_total=0
for instruction in "${instructions[@]}"; do
  [[ ${instruction%%[[:space:]]*} =~ ^[Ff][Rr][Oo][Mm]$ ]] && stages_total=$((stages_total + 1))
done
[ "$stages_total" -gt 0 ] || die "Dockerfile: no FROM"

# --- the stages ----------------------------------------------------------------------------------------------------

declare -A stage_roots=()
stage=0
root=''
workdir=/
stage_env=()
base=''
user=root
expose=()
healthcheck_options=()
healthcheck_cmd=''
cmd=''

words() { # splits an instruction's arguments on blanks; quotes would need a real parser
  [[ $1 == *[\"\']* ]] && die "quoting is not supported: $2"
  [[ $1 == *'$'* ]] && die "variables are not supported outside RUN: $2"
  read -r -a split <<<"$1"
}

json_array() { # a JSON array of strings (exec form), checked by node
  node -e 'const a = JSON.parse(process.argv[1]); if (!Array.isArray(a) || a.length === 0 || !a.every((s) => typeof s === "string")) process.exit(1);' "$1" 2>/dev/null ||
    die "expected an exec-form JSON array of strings: $2"
}

from() {
  local image alias=''
  words "$1" "FROM $1"
  [[ ${split[0]} == --* ]] && die "FROM options are not supported: FROM $1"
  image=${split[0]}
  if [ "${#split[@]}" -eq 3 ] && [[ ${split[1]} =~ ^[Aa][Ss]$ ]]; then
    alias=${split[2]}
  elif [ "${#split[@]}" -ne 1 ]; then
    die "expected FROM <image> [AS <name>]: FROM $1"
  fi
  [ -n "${stage_roots[$image]+set}" ] && die "FROM an earlier stage is not supported: FROM $1"
  stage=$((stage + 1))
  if [ "$stage" -eq "$stages_total" ]; then root=$out; else root=$work/stage-$stage; fi
  mkdir -p "$root"
  stage_roots[$stage]=$root
  [ -n "$alias" ] && stage_roots[$alias]=$root
  workdir=/
  stage_env=()
  base=$image
  user=root
  # The host's node plays the image's: say so when their major versions differ.
  if [[ $image =~ ^node:([0-9]+) ]] && [[ $(node --version) != v${BASH_REMATCH[1]}.* ]]; then
    echo "dockerfile-as-shell: warning: $image, but the host runs node $(node --version)" >&2
  fi
}

run() {
  local command=$1 name
  [[ $command == \[* ]] && die "exec-form RUN is not supported: RUN $command"
  [[ $command == --* ]] && die "RUN options are not supported: RUN $command"
  [[ " $command" =~ [[:space:]=\'\"]/ ]] && die "RUN must use paths relative to WORKDIR here: RUN $command"
  local environment=("HOME=$HOME" "PATH=$root/usr/local/bin:$PATH" "npm_config_prefix=$root/usr/local")
  # Where pnpm's store and caches are (a warm store makes installs fast), and how this network reaches the
  # registry: proxies and the certificate authorities of a TLS-inspecting proxy.
  for name in TMPDIR XDG_DATA_HOME XDG_CACHE_HOME XDG_CONFIG_HOME npm_config_cache npm_config_registry \
    npm_config_store_dir HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy \
    NODE_EXTRA_CA_CERTS SSL_CERT_FILE SSL_CERT_DIR CI; do
    [ -n "${!name-}" ] && environment+=("$name=${!name}")
  done
  (cd "$root$workdir" && env -i "${environment[@]}" "${stage_env[@]}" sh -c "$command") ||
    die "RUN failed: $command"
}

copy() {
  local from_root=$work/context source target path
  words "$1" "COPY $1"
  while [[ ${split[0]} == --* ]]; do
    case ${split[0]} in
      --from=*)
        from_root=${stage_roots[${split[0]#--from=}]-}
        [ -n "$from_root" ] || die "COPY from an unknown stage: COPY $1"
        ;;
      --chown=* | --chmod=* | --link) ;;
      *) die "COPY option not supported: COPY $1" ;;
    esac
    split=("${split[@]:1}")
  done
  [ "${#split[@]}" -ge 2 ] || die "expected COPY <source>... <destination>: COPY $1"
  target=${split[-1]}
  if [ "${#split[@]}" -gt 2 ] && [[ $target != */ ]]; then
    die "several sources need a destination folder ending in /: COPY $1"
  fi
  [[ $target == /* ]] || target=$workdir/$target
  target=$root$target
  for source in "${split[@]:0:${#split[@]}-1}"; do
    [[ $source == *[*?[]* ]] && die "wildcards are not supported: COPY $1"
    [[ /$source/ == */../* ]] && die "sources must stay inside the context: COPY $1"
    path=$from_root/${source#/}
    [[ -e $path || -L $path ]] || die "no such source: $source (COPY $1)"
    if [[ -d $path && ! -L $path ]]; then
      mkdir -p "$target"
      cp -a "$path/." "$target/"
    elif [[ $target == */ || -d $target ]]; then
      mkdir -p "$target"
      cp -a "$path" "$target/"
    else
      mkdir -p "$(dirname "$target")"
      cp -a "$path" "$target"
    fi
  done
}

healthcheck() {
  local rest=$1
  while [[ $rest == --* ]]; do
    [[ ${rest%%[[:space:]]*} =~ ^--(interval|timeout|start-period|start-interval|retries)=[0-9a-z]+$ ]] ||
      die "HEALTHCHECK option not supported: HEALTHCHECK $1"
    healthcheck_options+=("${rest%%[[:space:]]*}")
    rest=$(printf '%s' "${rest#*[[:space:]]}" | sed 's/^[[:space:]]*//')
  done
  [[ $rest =~ ^CMD[[:space:]]+(.*)$ ]] || die "expected HEALTHCHECK [options] CMD [...]: HEALTHCHECK $1"
  json_array "${BASH_REMATCH[1]}" "HEALTHCHECK $1"
  healthcheck_cmd=${BASH_REMATCH[1]}
}

step=0
for instruction in "${instructions[@]}"; do
  keyword=${instruction%%[[:space:]]*}
  keyword=${keyword^^}
  arguments=$(printf '%s' "${instruction#*[[:space:]]}" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//')
  step=$((step + 1))
  echo "==> [$step/${#instructions[@]}] $keyword $arguments" >&2
  [ "$keyword" = FROM ] || [ "$stage" -gt 0 ] || die "Dockerfile: $keyword before FROM"
  case $keyword in
    FROM) from "$arguments" ;;
    WORKDIR)
      words "$arguments" "WORKDIR $arguments"
      [ "${#split[@]}" -eq 1 ] || die "expected WORKDIR <path>: WORKDIR $arguments"
      if [[ ${split[0]} == /* ]]; then workdir=${split[0]}; else workdir=$workdir/${split[0]}; fi
      mkdir -p "$root$workdir"
      ;;
    RUN) run "$arguments" ;;
    COPY) copy "$arguments" ;;
    ENV)
      words "$arguments" "ENV $arguments"
      for pair in "${split[@]}"; do
        [[ $pair =~ ^[A-Za-z_][A-Za-z0-9_]*=.*$ ]] || die "expected ENV KEY=value ...: ENV $arguments"
        stage_env+=("$pair")
      done
      ;;
    USER)
      words "$arguments" "USER $arguments"
      [ "${#split[@]}" -eq 1 ] || die "expected USER <name>: USER $arguments"
      user=${split[0]}
      ;;
    EXPOSE)
      words "$arguments" "EXPOSE $arguments"
      for port in "${split[@]}"; do
        [[ $port =~ ^[0-9]+(/tcp)?$ ]] || die "expected EXPOSE <port>...: EXPOSE $arguments"
        [ "$stage" -eq "$stages_total" ] && expose+=("${port%/tcp}")
      done
      ;;
    HEALTHCHECK) healthcheck "$arguments" ;;
    CMD)
      json_array "$arguments" "CMD $arguments (exec form keeps node as PID 1)"
      cmd=$arguments
      ;;
    *) die "instruction not supported: $keyword (extend deploy/dockerfile-as-shell.sh)" ;;
  esac
done
[ -n "$cmd" ] || die "Dockerfile: the last stage has no CMD"

# What `docker run` would start, for the test (and for a person): the last stage's settings.
node -e '
  const [file, base, workdir, user, cmd, healthcheck, options, expose, ...env] = process.argv.slice(1);
  const image = {
    base,
    workdir,
    user,
    env: Object.fromEntries(env.map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)])),
    expose: expose === "" ? [] : expose.split(" ").map(Number),
    healthcheck: healthcheck === "" ? null : { options: options === "" ? [] : options.split(" "), cmd: JSON.parse(healthcheck) },
    cmd: JSON.parse(cmd),
  };
  require("node:fs").writeFileSync(file, JSON.stringify(image, null, 2) + "\n");
' "$out/.image.json" "$base" "$workdir" "$user" "$cmd" "$healthcheck_cmd" "${healthcheck_options[*]-}" \
  "${expose[*]-}" "${stage_env[@]}"
echo "dockerfile-as-shell: the image's filesystem is in $out, its settings in $out/.image.json" >&2
