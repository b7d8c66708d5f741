#!/bin/sh
# A toy furnace: parameters as JSON on stdin, measurements as JSON on stdout.
# MATERIA_CANDIDATE_ID, MATERIA_ITERATION and MATERIA_CAMPAIGN_ID are in the environment.
set -eu
input=$(cat)
value() { printf '%s' "$input" | sed -n "s/.*\"$1\": *\"\{0,1\}\([^,}\"]*\).*/\1/p"; }
temperature=$(value temperature_c)
hours=$(value hours)
atmosphere=$(value atmosphere)
if [ "$atmosphere" = argon ] && [ "${temperature%.*}" -gt 850 ]; then
    echo "furnace interlock: argon above 850 C" >&2
    exit 1
fi
awk -v t="$temperature" -v h="$hours" -v a="$atmosphere" 'BEGIN {
    gain = (a == "oxygen") ? 12 : (a == "argon") ? -6 : 0
    capacity = 175 + gain - ((t - 760) / 40) ^ 2 - 18 / (1 + h) - 0.4 * h
    cost = 2 + 0.004 * t * h ^ 0.8 + (a == "oxygen" ? 3 : a == "argon" ? 5 : 0)
    printf "{\"capacity\": %.2f, \"cost\": %.3f}\n", capacity, cost
}'
