#!/usr/bin/env bash
# Grep guards for the house rules that ruff cannot see (house-style §14).
set -u
cd "$(dirname "$0")/.."
fail=0
apps="smc accounts platforms posting moderation audit"
dirs=$(for a in $apps; do [ -d "$a" ] && echo "$a"; done)

if grep -rn --include=views.py --include=tasks.py "\.objects\." $dirs; then
  echo "guard: views and tasks read through selectors and write through services (no .objects.)"; fail=1
fi
if grep -rn "mark_safe\|with_scopes_disabled\|scopes_disabled()" $dirs --include=*.py | grep -v "smc/tenancy.py"; then
  echo "guard: no mark_safe, and lift the agency scope only with smc.tenancy.every_agency()"; fail=1
fi
if grep -rn "|safe" templates | grep -v "help_text|safe"; then
  echo "guard: no |safe in templates (public text is always escaped)"; fail=1
fi
if grep -rn "<script>" templates; then
  echo "guard: no inline script (CSP): put scripts in static/ and load them with the nonce"; fail=1
fi
# Every lift of the agency scope must say why on the line above or in its function.
while IFS=: read -r file line _; do
  prev=$(sed -n "$((line-3)),$((line-1))p" "$file")
  if ! grep -q "#\|\"\"\"" <<<"$prev"; then
    echo "guard: $file:$line lifts the agency scope without a comment saying why"; fail=1
  fi
done < <(grep -rn "with every_agency()" $dirs --include=*.py | grep -v "^smc/tenancy.py")
exit $fail
