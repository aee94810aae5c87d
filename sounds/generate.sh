#!/usr/bin/env bash
# Regenerates the example prompts: espeak-ng speaks each text, sox turns it into
# 8 kHz mono 16-bit WAV (telephone quality, small files).
# Needs: espeak-ng, sox (Debian: apt-get install espeak-ng sox).
# Usage: sounds/generate.sh   (writes next to this script)
set -euo pipefail

cd "$(dirname "$0")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

say() {
    local name="$1" text="$2"
    espeak-ng -v en-us -s 150 -w "$tmp/$name.wav" "$text"
    # -R: repeatable dither, so regenerating gives identical files.
    sox -R "$tmp/$name.wav" -r 8000 -c 1 -b 16 "$name.wav"
}

say welcome "Welcome to the Example Shop hotline."
say main_menu "For the status of an order, press 1. For billing questions, press 2. To speak to an agent, press 0. To hear these options again, press 9."
say invalid_option "Sorry, that is not one of the options."
say no_input "Sorry, I did not hear a choice."
say enter_order "Please enter your order number, followed by the hash key."
say invalid_order "Sorry, an order number has 4 to 10 digits."
say order_lookup "Thank you. We are looking up your order, and will send you an update by email shortly."
say billing_info "You find all your invoices in your customer account, under My Orders. For questions about a payment, please write to billing at example dot com."
say transfer "Please hold, we are connecting you to an agent."
say agents_busy "Sorry, all our agents are busy. Please try again later."
say callback_number "Sorry, all our agents are busy. Key in the number we should call you back on, then press hash. To be called back on the number you are calling from, just press hash."
say callback_booked "Thank you. An agent will call you back as soon as possible. Goodbye."
say callback_invalid "Sorry, we cannot call that number back. Please try again later. Goodbye."
say goodbye "Thank you for calling. Goodbye."

# Music on hold for callers waiting in a queue: an arpeggio of plucked chords (C, Am, F, G),
# made by sox alone.
music() {
    local i=0 note
    for note in C4 E4 G4 C5 G4 E4 A3 C4 E4 A4 E4 C4 F3 A3 C4 F4 C4 A3 G3 B3 D4 G4 D4 B3; do
        sox -R -n -r 8000 -c 1 -b 16 "$tmp/note$(printf %02d "$i").wav" \
            synth 0.35 pluck "$note" vol 0.5 fade 0 0.35 0.1
        i=$((i + 1))
    done
    sox -R "$tmp"/note*.wav hold_music.wav
}
music
