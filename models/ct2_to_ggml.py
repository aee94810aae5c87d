#!/usr/bin/env python3
"""Convert a Whisper model in CTranslate2 format (model.bin, binary version 6) to the ggml
file that whisper.cpp loads (whisper_model_load in src/whisper.cpp).

numpy only: no torch, no ctranslate2, no librosa.

    ct2_to_ggml.py MODEL_DIR OUT.bin
    ct2_to_ggml.py --model-bin part1 --model-bin part2 --vocab vocabulary.json OUT.bin

CTranslate2 model.bin v6 (little endian), as written by ctranslate2's specs/model_spec.py:
    u32 version (6) | str spec name | u32 spec revision | u32 n_variables
    n_variables x { str name | u8 rank | u32 dim x rank | u8 dtype | u32 n_bytes | bytes }
    u32 n_aliases | n_aliases x { str alias | str target }
    where str = u16 length (including the final NUL) | utf-8 bytes | NUL
    and dtype = 0 float32, 1 int8, 2 int16, 3 int32, 4 float16, 5 bfloat16.

ggml Whisper file (little endian, int32 unless said otherwise), as read by whisper.cpp:
    magic 0x67676d6c ("ggml")
    hparams: n_vocab n_audio_ctx n_audio_state n_audio_head n_audio_layer
             n_text_ctx n_text_state n_text_head n_text_layer n_mels ftype
    mel filters: n_mel n_fft, then n_mel*n_fft float32
    vocab: n_tokens, then n_tokens x { u32 length | raw bytes }   (special tokens are added by
           whisper.cpp itself, so only the 50,257 GPT-2 tokens are written)
    tensors until EOF: n_dims length ttype(0 f32, 1 f16) | ne[0..n_dims) (fastest first) |
           name | data (row-major, i.e. numpy shape reversed)
"""

import argparse
import json
import math
import os
import struct
import sys

import numpy as np

GGML_MAGIC = 0x67676D6C
CT2_VERSION = 6
N_GPT2_TOKENS = 50257  # GPT-2 byte-level BPE vocabulary incl. <|endoftext|>

CT2_DTYPES = {
    0: np.dtype("<f4"),
    1: np.dtype("i1"),
    2: np.dtype("<i2"),
    3: np.dtype("<i4"),
    4: np.dtype("<f2"),
    5: np.dtype("<u2"),  # bfloat16, widened to float32 below
}

# Tensors whisper.cpp wants as float32 even in an f16 model (besides every 1-D tensor).
F32_EXCEPTIONS = (
    "encoder.conv1.bias",
    "encoder.conv2.bias",
    "encoder.positional_embedding",
    "decoder.positional_embedding",
)


class ConversionError(Exception):
    pass


# --------------------------------------------------------------------------- CT2 reader


class _Reader:
    def __init__(self, data):
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ConversionError(
                "model.bin is truncated (wanted %d bytes at offset %d, file has %d)"
                % (n, self.pos, len(self.data))
            )
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt):
        size = struct.calcsize(fmt)
        return struct.unpack(fmt, self.take(size))[0]

    def string(self):
        n = self.unpack("<H")
        raw = bytes(self.take(n))
        if n == 0 or raw[-1] != 0:
            raise ConversionError("model.bin: malformed string at offset %d" % (self.pos - n))
        return raw[:-1].decode("utf-8")


def read_ct2(data):
    """Parse a CTranslate2 model.bin (bytes). Returns (spec_name, revision, variables, aliases)
    with variables as {name: numpy array} and aliases as {alias: target}."""
    r = _Reader(data)
    version = r.unpack("<I")
    if version != CT2_VERSION:
        raise ConversionError(
            "model.bin has binary version %d, this converter reads version %d only"
            % (version, CT2_VERSION)
        )
    spec = r.string()
    revision = r.unpack("<I")
    variables = {}
    for _ in range(r.unpack("<I")):
        name = r.string()
        rank = r.unpack("<B")
        shape = tuple(r.unpack("<I") for _ in range(rank))
        type_id = r.unpack("<B")
        n_bytes = r.unpack("<I")
        if type_id not in CT2_DTYPES:
            raise ConversionError("model.bin: variable %s has unknown dtype id %d" % (name, type_id))
        dtype = CT2_DTYPES[type_id]
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if count * dtype.itemsize != n_bytes:
            raise ConversionError(
                "model.bin: variable %s has %d bytes, shape %s of %s needs %d"
                % (name, n_bytes, shape, dtype, count * dtype.itemsize)
            )
        arr = np.frombuffer(r.take(n_bytes), dtype=dtype).reshape(shape)
        if type_id == 5:
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        variables[name] = arr
    aliases = {}
    for _ in range(r.unpack("<I")):
        alias = r.string()
        aliases[alias] = r.string()
    if r.pos != len(r.data):
        raise ConversionError(
            "model.bin: %d unexpected trailing bytes after the aliases" % (len(r.data) - r.pos)
        )
    return spec, revision, variables, aliases


# --------------------------------------------------------------------------- tokens


def bytes_to_unicode():
    """GPT-2's reversible map from each byte to a printable unicode character: printable
    Latin-1 bytes map to themselves, the 68 others to U+0100 upwards in byte order."""
    keep = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("\u00a1"), ord("\u00ac") + 1))
        + list(range(ord("\u00ae"), ord("\u00ff") + 1))
    )
    mapping = {}
    extra = 0
    for b in range(256):
        if b in keep:
            mapping[b] = chr(b)
        else:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


_UNICODE_TO_BYTE = {c: b for b, c in bytes_to_unicode().items()}


def token_to_bytes(token):
    """Decode one byte-level BPE token ("Ġthe") to its raw bytes (b" the")."""
    try:
        return bytes(_UNICODE_TO_BYTE[c] for c in token)
    except KeyError as e:
        raise ConversionError("token %r has a character outside the byte-to-unicode map: %r" % (token, e.args[0]))


def load_vocabulary(path):
    """Return the token strings (by id) of vocabulary.txt, vocabulary.json or tokenizer.json."""
    name = os.path.basename(path)
    if name.endswith(".txt"):
        with open(path, "r", encoding="utf-8", newline="") as f:
            text = f.read()
        tokens = text.split("\n")  # not splitlines(): it would also break on U+0085, U+2028...
        if tokens and tokens[-1] == "":
            tokens.pop()
        return tokens
    with open(path, "r", encoding="utf-8") as f:
        doc = json.load(f)
    if isinstance(doc, list):  # CT2 vocabulary.json
        return doc
    if isinstance(doc, dict) and "model" in doc:  # tokenizers' tokenizer.json
        vocab = dict(doc["model"]["vocab"])
        for added in doc.get("added_tokens", []):
            vocab[added["content"]] = added["id"]
        tokens = [None] * (max(vocab.values()) + 1)
        for tok, i in vocab.items():
            tokens[i] = tok
        return tokens
    raise ConversionError("%s: not a vocabulary list nor a tokenizer.json" % path)


def gpt2_tokens(tokens):
    """The first 50,257 tokens as raw bytes. Token 50256 is <|endoftext|> in the English-only
    vocabulary and an empty string in the multilingual one (whose <|endoftext|> is 50257)."""
    if len(tokens) < N_GPT2_TOKENS:
        raise ConversionError(
            "vocabulary has %d tokens, fewer than the %d GPT-2 tokens" % (len(tokens), N_GPT2_TOKENS)
        )
    last = tokens[N_GPT2_TOKENS - 1]
    if last not in ("<|endoftext|>", ""):
        raise ConversionError(
            "vocabulary token %d is %r, expected <|endoftext|> or an empty string" % (N_GPT2_TOKENS - 1, last)
        )
    if any(t is None for t in tokens[:N_GPT2_TOKENS]):
        raise ConversionError("vocabulary has holes among its first %d ids" % N_GPT2_TOKENS)
    return [token_to_bytes(t) for t in tokens[:N_GPT2_TOKENS]]


# --------------------------------------------------------------------------- mel filters


# Slaney's mel scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above. Scalars only,
# with Python's math (the C library) rather than numpy's SIMD exp/log, so that the filters do
# not depend on the numpy build or the CPU.
_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = math.log(6.4) / 27.0


def hz_to_mel(f):
    f = float(f)
    if f >= _MIN_LOG_HZ:
        return _MIN_LOG_MEL + math.log(f / _MIN_LOG_HZ) / _LOGSTEP
    return f / _F_SP


def mel_to_hz(m):
    m = float(m)
    if m >= _MIN_LOG_MEL:
        return _MIN_LOG_HZ * math.exp(_LOGSTEP * (m - _MIN_LOG_MEL))
    return _F_SP * m


def mel_filters(sr=16000, n_fft=400, n_mels=80):
    """Triangular Slaney-normalised mel filter bank, shape (n_mels, 1 + n_fft // 2), float32:
    the same numbers as librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels) (fmin 0,
    fmax sr/2, htk False, norm "slaney"), including its float32 rounding steps."""
    n_bins = 1 + n_fft // 2
    fft_freqs = np.arange(n_bins, dtype=np.float64) * (float(sr) / n_fft)
    mel_pts = np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2.0), n_mels + 2)
    hz_pts = np.array([mel_to_hz(m) for m in mel_pts], dtype=np.float64)
    fdiff = np.diff(hz_pts)
    ramps = np.subtract.outer(hz_pts, fft_freqs)
    weights = np.zeros((n_mels, n_bins), dtype=np.float32)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (hz_pts[2 : n_mels + 2] - hz_pts[:n_mels])  # Slaney: constant energy per band
    weights *= enorm[:, np.newaxis]
    return weights


# --------------------------------------------------------------------------- conversion


# Scalar flags of the CT2 decoder spec: the values whisper.cpp's fixed architecture assumes
# (GELU, pre-norm, no ALiBi, unscaled embeddings). Anything else is refused.
_EXPECTED_FLAGS = {
    "decoder/activation": 3,  # common_spec.Activation.GELU
    "decoder/alibi": 0,
    "decoder/pre_norm": 1,
    "decoder/scale_embeddings": 0,
    "decoder/start_from_zero_embedding": 0,
}
# Scalars that carry nothing for whisper.cpp (ALiBi details are moot with alibi = 0, the
# alignment heads are only used for CT2's word timestamps).
_IGNORED = {
    "decoder/alibi_use_positive_positions",
    "decoder/scale_alibi",
    "decoder/alignment_heads",
    "decoder/alignment_layer",
}


class _Vars:
    """Variables with aliases resolved; records which ones were used."""

    def __init__(self, variables, aliases):
        self.variables = variables
        self.aliases = aliases
        self.used = set()

    def target(self, name):
        seen = set()
        while name in self.aliases:
            if name in seen:
                raise ConversionError("model.bin: alias loop at %s" % name)
            seen.add(name)
            name = self.aliases[name]
        return name

    def has(self, name):
        return self.target(name) in self.variables

    def get(self, name):
        t = self.target(name)
        if t not in self.variables:
            raise ConversionError("model.bin has no variable %s" % name)
        self.used.add(name)
        self.used.add(t)
        return self.variables[t]

    def unused(self):
        names = set(self.variables) | set(self.aliases)
        return sorted(n for n in names - self.used - _IGNORED)

    def check_flags(self):
        for name, want in _EXPECTED_FLAGS.items():
            if self.has(name):
                got = _scalar_int(self, name)
                if got != want:
                    raise ConversionError("model.bin: %s = %d, whisper.cpp needs %d" % (name, got, want))


def _count_layers(v, prefix):
    n = 0
    while any(k.startswith("%s/layer_%d/" % (prefix, n)) for k in list(v.variables) + list(v.aliases)):
        n += 1
    return n


def _scalar_int(v, name):
    a = v.get(name)
    if a.size != 1:
        raise ConversionError("model.bin: %s should be a scalar, has shape %s" % (name, a.shape))
    return int(a.reshape(()))


def split_fused(name, weight, bias, parts, zero_part):
    """Split a fused projection (rows [q; k; v] or [k; v]) into equal parts. The part at index
    zero_part is Whisper's key projection, which has no bias: CT2 stores zeros there, check
    them and drop that bias. Returns [(weight, bias or None), ...]."""
    rows = weight.shape[0]
    if rows % parts or bias.shape != (rows,):
        raise ConversionError(
            "%s: fused weight %s / bias %s cannot be split in %d" % (name, weight.shape, bias.shape, parts)
        )
    n = rows // parts
    out = []
    for i in range(parts):
        w = weight[i * n : (i + 1) * n]
        b = bias[i * n : (i + 1) * n]
        if i == zero_part:
            if np.any(b != 0):
                raise ConversionError(
                    "%s: the key part (rows %d..%d) of the fused bias is not zero (max |b| = %g); "
                    "whisper.cpp has no key bias, refusing to drop it" % (name, i * n, (i + 1) * n, float(np.max(np.abs(b.astype(np.float32)))))
                )
            b = None
        out.append((w, b))
    return out


def check_tied_projection(v):
    """The output projection must be the token embedding (whisper.cpp reuses it)."""
    name = "decoder/projection/weight"
    if not v.has(name):
        return
    emb_name = v.target("decoder/embeddings/weight")
    if v.target(name) != emb_name:
        if not np.array_equal(v.get(name), v.get("decoder/embeddings/weight")):
            raise ConversionError(
                "decoder/projection/weight differs from decoder/embeddings/weight: the output "
                "projection is not tied to the token embedding, whisper.cpp cannot represent that"
            )
    v.get(name)
    if v.has("decoder/projection/bias"):
        b = v.get("decoder/projection/bias")
        if np.any(b != 0):
            raise ConversionError("decoder/projection/bias is not zero: whisper.cpp has no output bias")


def convert_variables(variables, aliases):
    """Map CT2 variables to (hparams, [(ggml name, numpy array), ...]); arrays keep the CT2
    dtype here, write_ggml chooses f16/f32."""
    v = _Vars(variables, aliases)
    conv1 = v.get("encoder/conv1/weight")
    if conv1.ndim != 3 or conv1.shape[2] != 3:
        raise ConversionError("encoder/conv1/weight has shape %s, expected (d_model, n_mels, 3)" % (conv1.shape,))
    emb = v.get("decoder/embeddings/weight")
    hp = {
        "n_vocab": emb.shape[0],
        "n_audio_ctx": v.get("encoder/position_encodings/encodings").shape[0],
        "n_audio_state": conv1.shape[0],
        "n_audio_head": _scalar_int(v, "encoder/num_heads"),
        "n_audio_layer": _count_layers(v, "encoder"),
        "n_text_ctx": v.get("decoder/position_encodings/encodings").shape[0],
        "n_text_state": emb.shape[1],
        "n_text_head": _scalar_int(v, "decoder/num_heads"),
        "n_text_layer": _count_layers(v, "decoder"),
        "n_mels": conv1.shape[1],
        "ftype": 1,
    }
    if hp["n_audio_state"] != hp["n_text_state"]:
        raise ConversionError("encoder width %d != decoder width %d" % (hp["n_audio_state"], hp["n_text_state"]))
    check_tied_projection(v)
    v.check_flags()

    out = []

    def add(name, arr):
        out.append((name, arr))

    def ln(dst, src):
        add(dst + ".weight", v.get(src + "/gamma"))
        add(dst + ".bias", v.get(src + "/beta"))

    def linear(dst, src):
        add(dst + ".weight", v.get(src + "/weight"))
        add(dst + ".bias", v.get(src + "/bias"))

    def fused(dsts, src, zero_part):
        parts = split_fused(src, v.get(src + "/weight"), v.get(src + "/bias"), len(dsts), zero_part)
        for dst, (w, b) in zip(dsts, parts):
            add(dst + ".weight", w)
            if b is not None:
                add(dst + ".bias", b)

    add("encoder.positional_embedding", v.get("encoder/position_encodings/encodings"))
    for i in (1, 2):
        add("encoder.conv%d.weight" % i, v.get("encoder/conv%d/weight" % i))
        b = v.get("encoder/conv%d/bias" % i)
        add("encoder.conv%d.bias" % i, b.reshape(b.shape[0], 1))
    for i in range(hp["n_audio_layer"]):
        s, d = "encoder/layer_%d" % i, "encoder.blocks.%d" % i
        fused([d + ".attn.query", d + ".attn.key", d + ".attn.value"], s + "/self_attention/linear_0", 1)
        linear(d + ".attn.out", s + "/self_attention/linear_1")
        ln(d + ".attn_ln", s + "/self_attention/layer_norm")
        linear(d + ".mlp.0", s + "/ffn/linear_0")
        linear(d + ".mlp.2", s + "/ffn/linear_1")
        ln(d + ".mlp_ln", s + "/ffn/layer_norm")
    ln("encoder.ln_post", "encoder/layer_norm")

    add("decoder.positional_embedding", v.get("decoder/position_encodings/encodings"))
    add("decoder.token_embedding.weight", emb)
    for i in range(hp["n_text_layer"]):
        s, d = "decoder/layer_%d" % i, "decoder.blocks.%d" % i
        fused([d + ".attn.query", d + ".attn.key", d + ".attn.value"], s + "/self_attention/linear_0", 1)
        linear(d + ".attn.out", s + "/self_attention/linear_1")
        ln(d + ".attn_ln", s + "/self_attention/layer_norm")
        linear(d + ".cross_attn.query", s + "/attention/linear_0")
        fused([d + ".cross_attn.key", d + ".cross_attn.value"], s + "/attention/linear_1", 0)
        linear(d + ".cross_attn.out", s + "/attention/linear_2")
        ln(d + ".cross_attn_ln", s + "/attention/layer_norm")
        linear(d + ".mlp.0", s + "/ffn/linear_0")
        linear(d + ".mlp.2", s + "/ffn/linear_1")
        ln(d + ".mlp_ln", s + "/ffn/layer_norm")
    ln("decoder.ln", "decoder/layer_norm")

    left = v.unused()
    if left:
        raise ConversionError("model.bin has variables this converter does not know: %s" % ", ".join(left))
    for name, arr in out:
        if arr.dtype.kind != "f":
            raise ConversionError("%s has dtype %s: quantized models are not supported" % (name, arr.dtype))
    return hp, out


# --------------------------------------------------------------------------- ggml writer

HPARAM_ORDER = (
    "n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer",
    "n_text_ctx", "n_text_state", "n_text_head", "n_text_layer", "n_mels", "ftype",
)


def ggml_dtype(name, arr):
    """0 (float32) for 1-D tensors and the listed exceptions, else 1 (float16)."""
    return 0 if arr.ndim < 2 or name in F32_EXCEPTIONS else 1


def write_ggml(f, hparams, filters, tokens, tensors):
    f.write(struct.pack("<i", GGML_MAGIC))
    for key in HPARAM_ORDER:
        f.write(struct.pack("<i", hparams[key]))
    filters = np.ascontiguousarray(filters, dtype="<f4")
    f.write(struct.pack("<ii", *filters.shape))
    f.write(filters.tobytes())
    f.write(struct.pack("<i", len(tokens)))
    for tok in tokens:
        f.write(struct.pack("<I", len(tok)))
        f.write(tok)
    for name, arr in tensors:
        ttype = ggml_dtype(name, arr)
        data = np.ascontiguousarray(arr, dtype="<f4" if ttype == 0 else "<f2")
        raw_name = name.encode("utf-8")
        f.write(struct.pack("<iii", data.ndim, len(raw_name), ttype))
        f.write(struct.pack("<%di" % data.ndim, *reversed(data.shape)))
        f.write(raw_name)
        f.write(data.tobytes())


def find_vocabulary(model_dir):
    for name in ("vocabulary.txt", "vocabulary.json", "tokenizer.json"):
        path = os.path.join(model_dir, name)
        if os.path.exists(path):
            return path
    raise ConversionError("%s has no vocabulary.txt, vocabulary.json nor tokenizer.json" % model_dir)


def convert(model_bin_parts, vocab_path, out_path):
    """Convert; model_bin_parts are concatenated (a model.bin split in several files).
    Writes out_path atomically and returns the hparams."""
    data = b"".join(open(p, "rb").read() for p in model_bin_parts)
    spec, _rev, variables, aliases = read_ct2(data)
    if spec != "WhisperSpec":
        raise ConversionError("model.bin holds a %s, not a WhisperSpec" % spec)
    hp, tensors = convert_variables(variables, aliases)
    tokens_all = load_vocabulary(vocab_path)
    # vocabulary.txt / .json list every id; tokenizer.json may lack the timestamp tokens.
    complete = not vocab_path.endswith("tokenizer.json")
    if len(tokens_all) > hp["n_vocab"] or (complete and len(tokens_all) != hp["n_vocab"]):
        raise ConversionError(
            "%s has %d tokens but the embedding has %d rows" % (vocab_path, len(tokens_all), hp["n_vocab"])
        )
    tokens = gpt2_tokens(tokens_all)
    filters = mel_filters(16000, 400, hp["n_mels"])
    tmp = out_path + ".tmp"
    with open(tmp, "wb") as f:
        write_ggml(f, hp, filters, tokens, tensors)
    os.replace(tmp, out_path)
    return hp


def main(argv=None):
    ap = argparse.ArgumentParser(description="CTranslate2 Whisper model -> whisper.cpp ggml file")
    ap.add_argument("model_dir", nargs="?", help="directory with model.bin and a vocabulary")
    ap.add_argument("out", help="ggml file to write")
    ap.add_argument("--model-bin", action="append", default=[], help="model.bin (or its parts, in order)")
    ap.add_argument("--vocab", help="vocabulary.txt / vocabulary.json / tokenizer.json")
    args = ap.parse_args(argv)
    parts = args.model_bin or ([os.path.join(args.model_dir, "model.bin")] if args.model_dir else [])
    if not parts:
        ap.error("give MODEL_DIR or --model-bin")
    vocab = args.vocab or (find_vocabulary(args.model_dir) if args.model_dir else None)
    if not vocab:
        ap.error("give MODEL_DIR or --vocab")
    try:
        hp = convert(parts, vocab, args.out)
    except ConversionError as e:
        print("ct2_to_ggml: error: %s" % e, file=sys.stderr)
        return 1
    print("ct2_to_ggml: wrote %s (%d bytes): %s" % (
        args.out, os.path.getsize(args.out), " ".join("%s=%d" % (k, hp[k]) for k in HPARAM_ORDER)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
