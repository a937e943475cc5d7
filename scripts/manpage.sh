#!/bin/sh
# scripts/manpage.sh BIN > relmask.1: the man page, generated from the
# program's own --help texts (the overview and every command's), so it
# says what the installed binary does. make install runs it.
set -eu
bin=$1
# troff: a backslash is \e; a line starting with . or ' needs \& before it.
quote() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }
version=$("$bin" --version)
cat <<HEAD
.TH RELMASK 1 "" "$version" "User Commands"
.SH NAME
relmask \\- relevance-based data masking: transfer a model's knowledge to a new model through the training data
.SH SYNOPSIS
.B relmask
.I command
.RI [ options ]
.SH DESCRIPTION
.nf
HEAD
"$bin" --help | quote
echo ".fi"
for cmd in $("$bin" --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }'); do
  echo ".SH \"RELMASK $(echo "$cmd" | tr a-z A-Z)\""
  echo ".nf"
  "$bin" "$cmd" --help | quote
  echo ".fi"
done
if "$bin" relevance import --help >/dev/null 2>&1; then
  echo ".SH \"RELMASK RELEVANCE IMPORT\""
  echo ".nf"
  "$bin" relevance import --help | quote
  echo ".fi"
fi
cat <<TAIL
.SH FILES
.TP
.I PREFIX/share/relmask/nets/*.cfg
the named networks (\\fB--net fer-small\\fR); \\fBRELMASK_NETS\\fR names another directory
.TP
.I PREFIX/share/relmask/examples/
examples
.SH ENVIRONMENT
.TP
.B RELMASK_NETS
the directory of the named networks
.SH EXIT STATUS
0 success, 1 runtime error, 2 usage error.
TAIL
