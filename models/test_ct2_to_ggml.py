#!/usr/bin/env python3
"""Unit tests of ct2_to_ggml.py (numpy + unittest only).

Run with the venv that models/fetch.sh makes:  models/fetch.sh --test
or, once it exists:  ~/.cache/switchboard/venv/bin/python models/test_ct2_to_ggml.py

The synthetic CTranslate2 files are written here by a writer of this file's own (following the
model.bin v6 layout), and the ggml files are parsed back by a reader of this file's own
(following whisper.cpp's whisper_model_load), so the converter is checked against independent
code on both sides.
"""

import hashlib
import math
import os
import struct
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import ct2_to_ggml as c2g  # noqa: E402

TINY_EN = os.path.join(HERE, "ggml-tiny.en.bin")

# sha256 of librosa.filters.mel(sr=16000, n_fft=400, n_mels=80) as little-endian float32 bytes,
# taken once with librosa 0.11.0 (numpy 2.4.6); it is bit-identical to our numpy version
# (including the one -0.0 at [0, 0]).
LIBROSA_MEL_80_SHA256 = "4f2701b1d287d74a0dc9871026e9519d98cb76426615f2539b0d151a0ae4ec2e"


# --------------------------------------------------------------------------- helpers


def _b2u_table():
    printable = [b for b in range(256) if (0x21 <= b <= 0x7E) or (0xA1 <= b <= 0xAC) or (0xAE <= b <= 0xFF)]
    others = [b for b in range(256) if b not in printable]
    table = {b: chr(b) for b in printable}
    table.update({b: chr(0x100 + i) for i, b in enumerate(others)})
    return table


_B2U = _b2u_table()


def b2u(raw):
    """Bytes -> byte-level BPE token string, written independently of the converter: printable
    Latin-1 bytes stand for themselves, the others are numbered from U+0100 in byte order."""
    return "".join(_B2U[b] for b in raw)


def ct2_string(s):
    raw = s.encode("utf-8")
    return struct.pack("<H", len(raw) + 1) + raw + b"\0"


def write_ct2(path, variables, aliases=(), version=6, spec="WhisperSpec", split_at=None):
    """Write a CTranslate2 model.bin (v6 layout). variables: {name: numpy array} (float32,
    float16, int8, int16); aliases: [(alias, target)]. With split_at, write two files
    path + '.part1' / '.part2' split at that byte offset instead."""
    type_ids = {np.dtype("float32"): 0, np.dtype("int8"): 1, np.dtype("int16"): 2, np.dtype("int32"): 3, np.dtype("float16"): 4}
    out = [struct.pack("<I", version), ct2_string(spec), struct.pack("<I", 3), struct.pack("<I", len(variables))]
    for name in sorted(variables):
        arr = np.asarray(variables[name])
        out.append(ct2_string(name))
        out.append(struct.pack("<B", arr.ndim))
        out.extend(struct.pack("<I", d) for d in arr.shape)
        out.append(struct.pack("<B", type_ids[arr.dtype]))
        raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        out.append(struct.pack("<I", len(raw)))
        out.append(raw)
    out.append(struct.pack("<I", len(aliases)))
    for alias, target in aliases:
        out.append(ct2_string(alias) + ct2_string(target))
    data = b"".join(out)
    if split_at is None:
        with open(path, "wb") as f:
            f.write(data)
        return [path]
    parts = [path + ".part1", path + ".part2"]
    for p, chunk in zip(parts, (data[:split_at], data[split_at:])):
        with open(p, "wb") as f:
            f.write(chunk)
    return parts


def read_ggml(path):
    """Parse a whisper.cpp ggml file the way whisper_model_load reads it."""
    with open(path, "rb") as f:
        data = f.read()
    o = 0

    def i32():
        nonlocal o
        v = struct.unpack_from("<i", data, o)[0]
        o += 4
        return v

    magic = struct.unpack_from("<I", data, 0)[0]
    o = 4
    keys = ["n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer", "n_text_ctx",
            "n_text_state", "n_text_head", "n_text_layer", "n_mels", "ftype"]
    hp = {k: i32() for k in keys}
    n_mel, n_fft = i32(), i32()
    filters = np.frombuffer(data, dtype="<f4", count=n_mel * n_fft, offset=o).reshape(n_mel, n_fft)
    o += 4 * n_mel * n_fft
    n_tokens = i32()
    tokens = []
    for _ in range(n_tokens):
        n = struct.unpack_from("<I", data, o)[0]
        o += 4
        tokens.append(data[o : o + n])
        o += n
    tensors = {}
    while o < len(data):
        n_dims, name_len, ttype = struct.unpack_from("<iii", data, o)
        o += 12
        ne = struct.unpack_from("<%di" % n_dims, data, o)
        o += 4 * n_dims
        name = data[o : o + name_len].decode("utf-8")
        o += name_len
        dtype = {0: np.dtype("<f4"), 1: np.dtype("<f2")}[ttype]
        count = int(np.prod(ne))
        arr = np.frombuffer(data, dtype=dtype, count=count, offset=o).reshape(tuple(reversed(ne)))
        o += count * dtype.itemsize
        if name in tensors:
            raise AssertionError("tensor %s twice" % name)
        tensors[name] = (ttype, tuple(ne), arr)
    if o != len(data):
        raise AssertionError("trailing bytes")
    return magic, hp, filters, tokens, tensors


def whisper_cpp_tensors(hp):
    """Name -> (ttype, ne) that whisper_model_load creates for these hparams (ftype 1)."""
    a, t, v = hp["n_audio_state"], hp["n_text_state"], hp["n_vocab"]
    F32, F16 = 0, 1
    want = {
        "encoder.positional_embedding": (F32, (a, hp["n_audio_ctx"])),
        "encoder.conv1.weight": (F16, (3, hp["n_mels"], a)),
        "encoder.conv1.bias": (F32, (1, a)),
        "encoder.conv2.weight": (F16, (3, a, a)),
        "encoder.conv2.bias": (F32, (1, a)),
        "encoder.ln_post.weight": (F32, (a,)),
        "encoder.ln_post.bias": (F32, (a,)),
        "decoder.positional_embedding": (F32, (t, hp["n_text_ctx"])),
        "decoder.token_embedding.weight": (F16, (t, v)),
        "decoder.ln.weight": (F32, (t,)),
        "decoder.ln.bias": (F32, (t,)),
    }

    def block(prefix, n, attns):
        want.update({
            prefix + "mlp_ln.weight": (F32, (n,)), prefix + "mlp_ln.bias": (F32, (n,)),
            prefix + "mlp.0.weight": (F16, (n, 4 * n)), prefix + "mlp.0.bias": (F32, (4 * n,)),
            prefix + "mlp.2.weight": (F16, (4 * n, n)), prefix + "mlp.2.bias": (F32, (n,)),
        })
        for at in attns:
            want.update({
                prefix + at + "_ln.weight": (F32, (n,)), prefix + at + "_ln.bias": (F32, (n,)),
                prefix + at + ".query.weight": (F16, (n, n)), prefix + at + ".query.bias": (F32, (n,)),
                prefix + at + ".key.weight": (F16, (n, n)),
                prefix + at + ".value.weight": (F16, (n, n)), prefix + at + ".value.bias": (F32, (n,)),
                prefix + at + ".out.weight": (F16, (n, n)), prefix + at + ".out.bias": (F32, (n,)),
            })

    for i in range(hp["n_audio_layer"]):
        block("encoder.blocks.%d." % i, a, ["attn"])
    for i in range(hp["n_text_layer"]):
        block("decoder.blocks.%d." % i, t, ["attn", "cross_attn"])
    return want


# A small Whisper-shaped CT2 model: d = 8, 2 heads, 4 mels, 1 encoder and 2 decoder layers.
D, N_MELS, A_CTX, T_CTX, ENC_L, DEC_L = 8, 4, 6, 5, 1, 2
SPECIALS = ["<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|transcribe|>"]
N_VOCAB = 50256 + len(SPECIALS)


def synthetic_vocab():
    tokens = [b2u(b" the"), b2u(b"\n"), b2u("’".encode()), b2u(bytes([0xFF, 0x00]))]
    tokens += [b2u(("t%d" % i).encode()) for i in range(len(tokens), 50256)]
    return tokens + SPECIALS


def synthetic_variables(dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)

    def r(*shape):
        return rng.standard_normal(shape).astype(dtype)

    v = {
        "encoder/num_heads": np.array(2, dtype=np.int16),
        "decoder/num_heads": np.array(2, dtype=np.int16),
        "decoder/activation": np.array(3, dtype=np.int8),
        "decoder/alibi": np.array(0, dtype=np.int8),
        "decoder/pre_norm": np.array(1, dtype=np.int8),
        "decoder/scale_embeddings": np.array(0, dtype=np.int8),
        "decoder/start_from_zero_embedding": np.array(0, dtype=np.int8),
        "decoder/alignment_heads": np.array(1, dtype=np.int16),
        "decoder/alignment_layer": np.array(-1, dtype=np.int16),
        "encoder/conv1/weight": r(D, N_MELS, 3), "encoder/conv1/bias": r(D),
        "encoder/conv2/weight": r(D, D, 3), "encoder/conv2/bias": r(D),
        "encoder/position_encodings/encodings": r(A_CTX, D),
        "encoder/layer_norm/gamma": r(D), "encoder/layer_norm/beta": r(D),
        "decoder/position_encodings/encodings": r(T_CTX, D),
        "decoder/embeddings/weight": r(N_VOCAB, D),
        "decoder/layer_norm/gamma": r(D), "decoder/layer_norm/beta": r(D),
    }

    def fused_bias(parts, key_index):
        b = r(parts * D)
        b[key_index * D : (key_index + 1) * D] = 0
        return b

    def ffn(p):
        v.update({p + "ffn/layer_norm/gamma": r(D), p + "ffn/layer_norm/beta": r(D),
                  p + "ffn/linear_0/weight": r(4 * D, D), p + "ffn/linear_0/bias": r(4 * D),
                  p + "ffn/linear_1/weight": r(D, 4 * D), p + "ffn/linear_1/bias": r(D)})

    def self_attn(p):
        v.update({p + "self_attention/layer_norm/gamma": r(D), p + "self_attention/layer_norm/beta": r(D),
                  p + "self_attention/linear_0/weight": r(3 * D, D),
                  p + "self_attention/linear_0/bias": fused_bias(3, 1),
                  p + "self_attention/linear_1/weight": r(D, D), p + "self_attention/linear_1/bias": r(D)})

    for i in range(ENC_L):
        p = "encoder/layer_%d/" % i
        self_attn(p)
        ffn(p)
    for i in range(DEC_L):
        p = "decoder/layer_%d/" % i
        self_attn(p)
        ffn(p)
        v.update({p + "attention/layer_norm/gamma": r(D), p + "attention/layer_norm/beta": r(D),
                  p + "attention/linear_0/weight": r(D, D), p + "attention/linear_0/bias": r(D),
                  p + "attention/linear_1/weight": r(2 * D, D), p + "attention/linear_1/bias": fused_bias(2, 0),
                  p + "attention/linear_2/weight": r(D, D), p + "attention/linear_2/bias": r(D)})
    return v


TIED = [("decoder/projection/weight", "decoder/embeddings/weight")]


class _TmpDir(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = self._tmp.name
        self.vocab = os.path.join(self.tmp, "vocabulary.txt")
        with open(self.vocab, "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(synthetic_vocab()) + "\n")

    def tearDown(self):
        self._tmp.cleanup()

    def convert(self, variables, aliases=TIED, **kw):
        parts = write_ct2(os.path.join(self.tmp, "model.bin"), variables, aliases, **kw)
        out = os.path.join(self.tmp, "out.bin")
        c2g.convert(parts, self.vocab, out)
        return out


# --------------------------------------------------------------------------- mel filters


class MelFilters(unittest.TestCase):
    def setUp(self):
        self.m = c2g.mel_filters(16000, 400, 80)

    def test_shape_and_dtype(self):
        self.assertEqual(self.m.shape, (80, 201))
        self.assertEqual(self.m.dtype, np.float32)

    def test_bit_identical_to_librosa(self):
        self.assertEqual(hashlib.sha256(self.m.astype("<f4").tobytes()).hexdigest(), LIBROSA_MEL_80_SHA256)

    def test_slaney_scale(self):
        self.assertAlmostEqual(c2g.hz_to_mel(1000.0), 15.0, places=12)
        self.assertAlmostEqual(c2g.hz_to_mel(200.0), 3.0, places=12)  # linear part: 200/3 Hz per mel
        self.assertAlmostEqual(c2g.hz_to_mel(6400.0), 15.0 + 27.0, places=9)  # log part: 27 mels per x6.4
        for hz in (0.0, 37.5, 999.0, 1000.0, 4321.0, 8000.0):
            self.assertAlmostEqual(c2g.mel_to_hz(c2g.hz_to_mel(hz)), hz, places=6)

    def test_known_values_by_hand(self):
        # Filter 0 spans mel points 0, M/81, 2M/81 with M = mel(8 kHz); all below 1 kHz, so in Hz
        # f1 = 200/3 * M/81 ≈ 37.24 and f2 = 2 f1. FFT bin 1 is 40 Hz, on the falling edge; the
        # Slaney height is 2 / (f2 - f0).
        M = 15.0 + math.log(8.0) / (math.log(6.4) / 27.0)
        f1 = 200.0 / 3 * M / 81
        f2 = 2 * f1
        self.assertAlmostEqual(f1, 37.2392, places=3)
        self.assertAlmostEqual(float(self.m[0, 1]), (f2 - 40.0) / (f2 - f1) * 2.0 / f2, delta=1e-8)
        self.assertAlmostEqual(float(self.m[0, 1]), 0.0248626, places=7)
        self.assertEqual(np.count_nonzero(self.m[0]), 1)  # 40 Hz is the only bin inside (0, 74.5)
        self.assertAlmostEqual(float(self.m[1, 2]), 0.02287177, places=8)
        self.assertAlmostEqual(float(self.m[79, 199]), 0.000448759, places=9)

    def test_peaks_at_right_bins(self):
        M = c2g.hz_to_mel(8000.0)
        for i in range(80):
            centre = c2g.mel_to_hz((i + 1) * M / 81)
            peak = int(np.argmax(self.m[i]))
            self.assertIn(peak, (math.floor(centre / 40.0), math.ceil(centre / 40.0)), "filter %d" % i)
        self.assertEqual(list(np.argmax(self.m, axis=1)[:12]), [1, 2, 3, 4, 5, 6, 7, 7, 8, 9, 10, 11])
        self.assertEqual(list(np.argmax(self.m, axis=1)[-5:]), [165, 172, 178, 185, 192])
        self.assertEqual(list(np.nonzero(self.m[79])[0]), list(range(186, 200)))

    def test_slaney_normalisation(self):
        self.assertTrue(np.all(self.m >= 0))
        self.assertTrue(np.all(self.m[:, 200] == 0))  # nothing at Nyquist
        # Each triangle has unit area in Hz: row sum x 40 Hz bin width ≈ 1.
        area = self.m.sum(axis=1, dtype=np.float64) * 40.0
        self.assertTrue(np.all(np.abs(area - 1) < 0.1), area)
        self.assertAlmostEqual(float(area.mean()), 1.0, delta=0.005)
        # Heights fall as the bands widen.
        self.assertGreater(self.m[10].max(), self.m[40].max())
        self.assertGreater(self.m[40].max(), self.m[79].max())


# --------------------------------------------------------------------------- tokens


class ByteLevelTokens(unittest.TestCase):
    def test_map_is_a_bijection_onto_printables(self):
        m = c2g.bytes_to_unicode()
        self.assertEqual(sorted(m), list(range(256)))
        self.assertEqual(len(set(m.values())), 256)
        self.assertTrue(all(ch.isprintable() and not ch.isspace() for ch in m.values()))
        self.assertEqual(m[ord("a")], "a")
        self.assertEqual(m[0x20], "Ġ")
        self.assertEqual(m[0x0A], "Ċ")
        self.assertEqual(m[0x00], "Ā")

    def test_known_tokens(self):
        self.assertEqual(c2g.token_to_bytes("Ġthe"), b" the")
        self.assertEqual(c2g.token_to_bytes("Ċ"), b"\n")
        self.assertEqual(c2g.token_to_bytes("âĢĻ"), "’".encode("utf-8"))
        self.assertEqual(c2g.token_to_bytes("<|endoftext|>"), b"<|endoftext|>")
        self.assertEqual(c2g.token_to_bytes("ĠÃ©"), " é".encode("utf-8"))
        for raw in (bytes(range(256)), b" hello", b"\xff\x00"):
            self.assertEqual(c2g.token_to_bytes(b2u(raw)), raw)

    def test_character_outside_the_map_is_refused(self):
        with self.assertRaises(c2g.ConversionError):
            c2g.token_to_bytes("a b")  # a raw space never appears in byte-level tokens

    def test_first_50257_tokens_only(self):
        toks = c2g.gpt2_tokens(synthetic_vocab())
        self.assertEqual(len(toks), 50257)
        self.assertEqual(toks[0], b" the")
        self.assertEqual(toks[-1], b"<|endoftext|>")
        multilingual = synthetic_vocab()[:50256] + [""] + SPECIALS
        self.assertEqual(c2g.gpt2_tokens(multilingual)[-1], b"")
        with self.assertRaises(c2g.ConversionError):
            c2g.gpt2_tokens(synthetic_vocab()[:50256] + ["x"] + SPECIALS[1:])
        with self.assertRaises(c2g.ConversionError):
            c2g.gpt2_tokens(synthetic_vocab()[:50000])


# --------------------------------------------------------------------------- synthetic models


class SyntheticConversion(_TmpDir):
    def test_header_names_shapes_dtypes(self):
        v = synthetic_variables()
        out = self.convert(v)
        magic, hp, filters, tokens, tensors = read_ggml(out)
        self.assertEqual(magic, 0x67676D6C)
        self.assertEqual(hp, dict(n_vocab=N_VOCAB, n_audio_ctx=A_CTX, n_audio_state=D, n_audio_head=2,
                                  n_audio_layer=ENC_L, n_text_ctx=T_CTX, n_text_state=D, n_text_head=2,
                                  n_text_layer=DEC_L, n_mels=N_MELS, ftype=1))
        self.assertEqual(filters.shape, (N_MELS, 201))
        np.testing.assert_array_equal(filters, c2g.mel_filters(16000, 400, N_MELS))
        self.assertEqual(len(tokens), 50257)
        self.assertEqual(tokens[:4], [b" the", b"\n", "’".encode(), b"\xff\x00"])
        self.assertEqual(tokens[-1], b"<|endoftext|>")
        want = whisper_cpp_tensors(hp)
        self.assertEqual(sorted(tensors), sorted(want))
        self.assertEqual(len(tensors), 7 + 4 + 15 * ENC_L + 24 * DEC_L)
        for name, (ttype, ne) in want.items():
            self.assertEqual(tensors[name][:2], (ttype, ne), name)
        # Values carried over (f32 CT2 -> f16 where whisper.cpp wants f16).
        np.testing.assert_array_equal(tensors["encoder.conv1.weight"][2], v["encoder/conv1/weight"].astype(np.float16))
        np.testing.assert_array_equal(tensors["encoder.conv1.bias"][2][:, 0], v["encoder/conv1/bias"])
        np.testing.assert_array_equal(tensors["encoder.positional_embedding"][2], v["encoder/position_encodings/encodings"])
        np.testing.assert_array_equal(tensors["decoder.token_embedding.weight"][2], v["decoder/embeddings/weight"].astype(np.float16))
        np.testing.assert_array_equal(tensors["decoder.ln.weight"][2], v["decoder/layer_norm/gamma"])
        np.testing.assert_array_equal(tensors["decoder.blocks.1.mlp.2.weight"][2], v["decoder/layer_1/ffn/linear_1/weight"].astype(np.float16))
        np.testing.assert_array_equal(tensors["encoder.blocks.0.mlp_ln.bias"][2], v["encoder/layer_0/ffn/layer_norm/beta"])

    def test_fused_qkv_and_kv_are_split(self):
        v = synthetic_variables()
        _, _, _, _, t = read_ggml(self.convert(v))
        for prefix, src in (("encoder.blocks.0.attn", "encoder/layer_0/self_attention/linear_0"),
                            ("decoder.blocks.1.attn", "decoder/layer_1/self_attention/linear_0")):
            w, b = v[src + "/weight"], v[src + "/bias"]
            np.testing.assert_array_equal(t[prefix + ".query.weight"][2], w[0:D].astype(np.float16))
            np.testing.assert_array_equal(t[prefix + ".key.weight"][2], w[D : 2 * D].astype(np.float16))
            np.testing.assert_array_equal(t[prefix + ".value.weight"][2], w[2 * D :].astype(np.float16))
            np.testing.assert_array_equal(t[prefix + ".query.bias"][2], b[0:D])
            np.testing.assert_array_equal(t[prefix + ".value.bias"][2], b[2 * D :])
            self.assertNotIn(prefix + ".key.bias", t)
        src = "decoder/layer_0/attention/"
        kv = v[src + "linear_1/weight"]
        np.testing.assert_array_equal(t["decoder.blocks.0.cross_attn.query.weight"][2], v[src + "linear_0/weight"].astype(np.float16))
        np.testing.assert_array_equal(t["decoder.blocks.0.cross_attn.key.weight"][2], kv[:D].astype(np.float16))
        np.testing.assert_array_equal(t["decoder.blocks.0.cross_attn.value.weight"][2], kv[D:].astype(np.float16))
        np.testing.assert_array_equal(t["decoder.blocks.0.cross_attn.value.bias"][2], v[src + "linear_1/bias"][D:])
        np.testing.assert_array_equal(t["decoder.blocks.0.cross_attn.out.weight"][2], v[src + "linear_2/weight"].astype(np.float16))
        self.assertNotIn("decoder.blocks.0.cross_attn.key.bias", t)

    def test_float16_source_and_split_model_bin(self):
        v = synthetic_variables(dtype=np.float16)
        whole = self.convert(v)
        with open(whole, "rb") as f:
            a = f.read()
        os.remove(os.path.join(self.tmp, "model.bin"))
        split = self.convert(v, split_at=1234)  # model.bin in two parts, like the base wheels
        with open(split, "rb") as f:
            self.assertEqual(f.read(), a)
        _, _, _, _, t = read_ggml(split)
        self.assertEqual(t["encoder.positional_embedding"][2].dtype, np.float32)
        np.testing.assert_array_equal(t["encoder.positional_embedding"][2], v["encoder/position_encodings/encodings"].astype(np.float32))

    def test_deterministic(self):
        v = synthetic_variables()
        with open(self.convert(v), "rb") as f:
            a = f.read()
        with open(self.convert(v), "rb") as f:
            self.assertEqual(f.read(), a)

    def test_nonzero_key_bias_is_refused(self):
        for src, key_rows in (("encoder/layer_0/self_attention/linear_0/bias", slice(D, 2 * D)),
                              ("decoder/layer_1/attention/linear_1/bias", slice(0, D))):
            v = synthetic_variables()
            v[src][key_rows.start + 3] = 0.5
            with self.assertRaises(c2g.ConversionError) as cm:
                self.convert(v)
            msg = str(cm.exception)
            self.assertIn(src.rsplit("/", 1)[0], msg)
            self.assertIn("key", msg)
            self.assertIn("not zero", msg)
            self.assertFalse(os.path.exists(os.path.join(self.tmp, "out.bin")))

    def test_tied_embedding_as_equal_copy_is_accepted(self):
        v = synthetic_variables()
        v["decoder/projection/weight"] = v["decoder/embeddings/weight"].copy()
        _, _, _, _, t = read_ggml(self.convert(v, aliases=[]))
        self.assertIn("decoder.token_embedding.weight", t)
        self.assertFalse(any("projection" in n for n in t))

    def test_untied_projection_is_refused(self):
        v = synthetic_variables()
        v["decoder/projection/weight"] = v["decoder/embeddings/weight"].copy()
        v["decoder/projection/weight"][7, 3] += 1
        with self.assertRaises(c2g.ConversionError) as cm:
            self.convert(v, aliases=[])
        self.assertIn("not tied", str(cm.exception))

    def test_unknown_variable_flag_or_version_is_refused(self):
        v = synthetic_variables()
        v["decoder/layer_0/attention/extra/weight"] = np.ones((D, D), np.float32)
        with self.assertRaisesRegex(c2g.ConversionError, "does not know"):
            self.convert(v)
        v = synthetic_variables()
        v["decoder/alibi"] = np.array(1, dtype=np.int8)
        with self.assertRaisesRegex(c2g.ConversionError, "alibi"):
            self.convert(v)
        with self.assertRaisesRegex(c2g.ConversionError, "version 5"):
            self.convert(synthetic_variables(), version=5)
        with self.assertRaisesRegex(c2g.ConversionError, "not a WhisperSpec"):
            self.convert(synthetic_variables(), spec="TransformerSpec")

    def test_vocabulary_size_must_match_embedding(self):
        v = synthetic_variables()
        v["decoder/embeddings/weight"] = v["decoder/embeddings/weight"][:-1]
        with self.assertRaisesRegex(c2g.ConversionError, "tokens but the embedding has"):
            self.convert(v)


# --------------------------------------------------------------------------- the real file


@unittest.skipUnless(os.path.exists(TINY_EN), "models/ggml-tiny.en.bin not present (run models/fetch.sh)")
class RealTinyEn(unittest.TestCase):
    def test_size_header_and_tensors(self):
        self.assertEqual(os.path.getsize(TINY_EN), 77704715)
        magic, hp, filters, tokens, tensors = read_ggml(TINY_EN)
        self.assertEqual(magic, 0x67676D6C)
        self.assertEqual(hp, dict(n_vocab=51864, n_audio_ctx=1500, n_audio_state=384, n_audio_head=6,
                                  n_audio_layer=4, n_text_ctx=448, n_text_state=384, n_text_head=6,
                                  n_text_layer=4, n_mels=80, ftype=1))
        self.assertEqual(hashlib.sha256(filters.astype("<f4").tobytes()).hexdigest(), LIBROSA_MEL_80_SHA256)
        self.assertEqual(len(tokens), 50257)
        self.assertEqual(tokens[262], b" the")  # GPT-2 id of "Ġthe"
        self.assertEqual(tokens[1169], b"the")
        self.assertEqual(tokens[198], b"\n")  # "Ċ"
        self.assertEqual(tokens[0], b"!")
        self.assertEqual(tokens[-1], b"<|endoftext|>")
        want = whisper_cpp_tensors(hp)
        self.assertEqual(sorted(tensors), sorted(want))
        for name, (ttype, ne) in want.items():
            self.assertEqual(tensors[name][:2], (ttype, ne), name)
        # Key biases were dropped because they were zero; layer norms look like layer norms.
        self.assertTrue(0.1 < float(np.mean(tensors["encoder.ln_post.weight"][2])) < 10)
        self.assertTrue(np.all(np.isfinite(tensors["decoder.token_embedding.weight"][2])))


def main():
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    bad = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - bad - skipped - len(result.expectedFailures)
    print("models: %d passed, %d failed, %d skipped" % (passed, bad, skipped))
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
