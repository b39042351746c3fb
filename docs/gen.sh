#!/usr/bin/env bash
# Regenerate docs/scenario-reference.md from the schema.
set -euo pipefail
cd "$(dirname "$0")/.."
{
  printf '# Scenario reference\n\nEvery key a scenario file can set, its type, default and meaning. Generated from the schema\n(`escalation/scenario/`) by `docs/gen.sh` (`escalation schema --markdown`); `escalation schema SECTION`\nprints one section in the terminal.\n\n'
  .venv/bin/escalation schema --markdown
} > docs/scenario-reference.md
