//! A BERT encoder forward pass on the CPU (one sentence at a time, f32), enough for the
//! sentence-embedding model all-MiniLM-L6-v2: weights read from `model.safetensors`, matrix
//! products by `matrixmultiply` (pure Rust, uses AVX/FMA when the CPU has them).

use std::collections::HashMap;
use std::path::Path;

/// Every weight of the model, laid out for the forward pass.
pub struct Bert {
    hidden: usize,
    heads: usize,
    layer_norm_eps: f32,
    word_embeddings: Vec<f32>,
    position_embeddings: Vec<f32>,
    token_type_embedding: Vec<f32>,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    /// Longest input the position embeddings allow.
    pub max_positions: usize,
}

struct LayerNorm {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

/// A dense layer; `weight` is `[out, in]` as stored (PyTorch's Linear).
struct Linear {
    weight: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
}

struct Layer {
    /// Query, key and value weights stacked into one `[3·hidden, hidden]` product.
    qkv: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

/// The tensors of a safetensors file (f32 only), by name, with their shapes.
struct Tensors(HashMap<String, (Vec<usize>, Vec<f32>)>);

impl Tensors {
    fn read(path: &Path) -> Result<Tensors, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let bad = |what: &str| format!("{}: not a safetensors file ({what})", path.display());
        let header_len = bytes
            .get(..8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()) as usize)
            .ok_or_else(|| bad("too short"))?;
        let header = bytes
            .get(8..8 + header_len)
            .ok_or_else(|| bad("header past the end"))?;
        let data = &bytes[8 + header_len..];
        let header: HashMap<String, serde_json::Value> =
            serde_json::from_slice(header).map_err(|e| bad(&e.to_string()))?;
        let mut tensors = HashMap::new();
        for (name, info) in header {
            if name == "__metadata__" || info["dtype"] != "F32" {
                continue;
            }
            let shape: Vec<usize> = info["shape"]
                .as_array()
                .ok_or_else(|| bad("shape"))?
                .iter()
                .map(|d| d.as_u64().map(|d| d as usize))
                .collect::<Option<_>>()
                .ok_or_else(|| bad("shape"))?;
            let offsets = &info["data_offsets"];
            let (start, end) = (
                offsets[0].as_u64().ok_or_else(|| bad("offsets"))? as usize,
                offsets[1].as_u64().ok_or_else(|| bad("offsets"))? as usize,
            );
            let raw = data
                .get(start..end)
                .ok_or_else(|| bad("data past the end"))?;
            if raw.len() != shape.iter().product::<usize>() * 4 {
                return Err(bad(&format!("size of {name}")));
            }
            let values = raw
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            tensors.insert(name, (shape, values));
        }
        Ok(Tensors(tensors))
    }

    fn take(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>, String> {
        let (found, values) = self
            .0
            .remove(name)
            .ok_or_else(|| format!("model has no tensor {name}"))?;
        if found != shape {
            return Err(format!(
                "tensor {name} has shape {found:?}, expected {shape:?}"
            ));
        }
        Ok(values)
    }

    fn norm(&mut self, prefix: &str, size: usize) -> Result<LayerNorm, String> {
        Ok(LayerNorm {
            weight: self.take(&format!("{prefix}.weight"), &[size])?,
            bias: self.take(&format!("{prefix}.bias"), &[size])?,
        })
    }

    fn linear(&mut self, prefix: &str, inputs: usize, outputs: usize) -> Result<Linear, String> {
        Ok(Linear {
            weight: self.take(&format!("{prefix}.weight"), &[outputs, inputs])?,
            bias: self.take(&format!("{prefix}.bias"), &[outputs])?,
            inputs,
            outputs,
        })
    }
}

/// Settings of the model from its `config.json`.
#[derive(serde::Deserialize)]
struct Config {
    hidden_size: usize,
    num_attention_heads: usize,
    num_hidden_layers: usize,
    intermediate_size: usize,
    max_position_embeddings: usize,
    vocab_size: usize,
    layer_norm_eps: f32,
}

impl Bert {
    /// Loads `config.json` and `model.safetensors` from `dir`.
    pub fn load(dir: &Path) -> Result<Bert, String> {
        let config_path = dir.join("config.json");
        let config: Config = std::fs::read_to_string(&config_path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
            .map_err(|e| format!("{}: {e}", config_path.display()))?;
        let mut t = Tensors::read(&dir.join("model.safetensors"))?;
        let h = config.hidden_size;
        if config.num_attention_heads == 0 || !h.is_multiple_of(config.num_attention_heads) {
            return Err(format!(
                "{}: hidden size not divisible by heads",
                config_path.display()
            ));
        }
        let mut layers = Vec::new();
        for i in 0..config.num_hidden_layers {
            let p = format!("encoder.layer.{i}");
            let q = t.linear(&format!("{p}.attention.self.query"), h, h)?;
            let k = t.linear(&format!("{p}.attention.self.key"), h, h)?;
            let v = t.linear(&format!("{p}.attention.self.value"), h, h)?;
            let qkv = Linear {
                weight: [q.weight, k.weight, v.weight].concat(),
                bias: [q.bias, k.bias, v.bias].concat(),
                inputs: h,
                outputs: 3 * h,
            };
            layers.push(Layer {
                qkv,
                attention_out: t.linear(&format!("{p}.attention.output.dense"), h, h)?,
                attention_norm: t.norm(&format!("{p}.attention.output.LayerNorm"), h)?,
                intermediate: t.linear(
                    &format!("{p}.intermediate.dense"),
                    h,
                    config.intermediate_size,
                )?,
                output: t.linear(&format!("{p}.output.dense"), config.intermediate_size, h)?,
                output_norm: t.norm(&format!("{p}.output.LayerNorm"), h)?,
            });
        }
        let token_types = t.take("embeddings.token_type_embeddings.weight", &[2, h])?;
        Ok(Bert {
            hidden: h,
            heads: config.num_attention_heads,
            layer_norm_eps: config.layer_norm_eps,
            word_embeddings: t
                .take("embeddings.word_embeddings.weight", &[config.vocab_size, h])?,
            position_embeddings: t.take(
                "embeddings.position_embeddings.weight",
                &[config.max_position_embeddings, h],
            )?,
            token_type_embedding: token_types[..h].to_vec(),
            embedding_norm: t.norm("embeddings.LayerNorm", h)?,
            layers,
            max_positions: config.max_position_embeddings,
        })
    }

    /// Width of the hidden states (and of the sentence embedding).
    pub fn hidden_size(&self) -> usize {
        self.hidden
    }

    /// The mean of the last hidden states over all tokens of one sentence, `ids` as the
    /// tokenizer made them (`[CLS] … [SEP]`, at most `max_positions`).
    pub fn mean_pooled(&self, ids: &[u32]) -> Vec<f32> {
        let h = self.hidden;
        let n = ids.len().min(self.max_positions);
        let vocab = self.word_embeddings.len() / h;
        let mut x = vec![0.0f32; n * h];
        for (t, &id) in ids[..n].iter().enumerate() {
            let id = (id as usize).min(vocab - 1);
            let row = &mut x[t * h..(t + 1) * h];
            let word = &self.word_embeddings[id * h..(id + 1) * h];
            let position = &self.position_embeddings[t * h..(t + 1) * h];
            for i in 0..h {
                row[i] = word[i] + position[i] + self.token_type_embedding[i];
            }
        }
        self.layer_norm(&mut x, &self.embedding_norm);
        for layer in &self.layers {
            self.layer(&mut x, n, layer);
        }
        let mut pooled = vec![0.0f32; h];
        for row in x.chunks_exact(h) {
            for (p, v) in pooled.iter_mut().zip(row) {
                *p += v;
            }
        }
        for p in &mut pooled {
            *p /= n as f32;
        }
        pooled
    }

    fn layer(&self, x: &mut [f32], n: usize, layer: &Layer) {
        let h = self.hidden;
        let heads = self.heads;
        let d = h / heads;
        let qkv = linear(x, n, &layer.qkv);
        let scale = 1.0 / (d as f32).sqrt();
        let mut context = vec![0.0f32; n * h];
        let mut scores = vec![0.0f32; n];
        for head in 0..heads {
            let (qo, ko, vo) = (head * d, h + head * d, 2 * h + head * d);
            for i in 0..n {
                let q = &qkv[i * 3 * h + qo..i * 3 * h + qo + d];
                let mut max = f32::NEG_INFINITY;
                for (j, s) in scores.iter_mut().enumerate() {
                    let k = &qkv[j * 3 * h + ko..j * 3 * h + ko + d];
                    *s = dot(q, k) * scale;
                    max = max.max(*s);
                }
                let mut sum = 0.0;
                for s in &mut scores {
                    *s = (*s - max).exp();
                    sum += *s;
                }
                let out = &mut context[i * h + head * d..i * h + head * d + d];
                for (j, s) in scores.iter().enumerate() {
                    let v = &qkv[j * 3 * h + vo..j * 3 * h + vo + d];
                    let p = s / sum;
                    for (o, v) in out.iter_mut().zip(v) {
                        *o += p * v;
                    }
                }
            }
        }
        let attended = linear(&context, n, &layer.attention_out);
        for (x, a) in x.iter_mut().zip(&attended) {
            *x += a;
        }
        self.layer_norm(x, &layer.attention_norm);
        let mut inner = linear(x, n, &layer.intermediate);
        for v in &mut inner {
            *v = gelu(*v);
        }
        let out = linear(&inner, n, &layer.output);
        for (x, o) in x.iter_mut().zip(&out) {
            *x += o;
        }
        self.layer_norm(x, &layer.output_norm);
    }

    fn layer_norm(&self, x: &mut [f32], norm: &LayerNorm) {
        let h = self.hidden;
        for row in x.chunks_exact_mut(h) {
            let mean = row.iter().sum::<f32>() / h as f32;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / h as f32;
            let inv = 1.0 / (var + self.layer_norm_eps).sqrt();
            for ((v, w), b) in row.iter_mut().zip(&norm.weight).zip(&norm.bias) {
                *v = (*v - mean) * inv * w + b;
            }
        }
    }
}

/// `x · Wᵀ + b` for the `n` rows of `x`.
fn linear(x: &[f32], n: usize, layer: &Linear) -> Vec<f32> {
    let (k, m) = (layer.inputs, layer.outputs);
    let mut out = Vec::with_capacity(n * m);
    for _ in 0..n {
        out.extend_from_slice(&layer.bias);
    }
    // SAFETY: the slices hold n×k, m×k and n×m floats, matching the dimensions and
    // strides given (row-major x and out; the weight read transposed through its strides).
    unsafe {
        matrixmultiply::sgemm(
            n,
            k,
            m,
            1.0,
            x.as_ptr(),
            k as isize,
            1,
            layer.weight.as_ptr(),
            1,
            k as isize,
            1.0,
            out.as_mut_ptr(),
            m as isize,
            1,
        );
    }
    out
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// GELU with the exact error function, as BERT uses it.
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x / std::f32::consts::SQRT_2))
}

/// The error function (Abramowitz and Stegun 7.1.26, absolute error below 1.5e-7).
fn erf(x: f32) -> f32 {
    let sign = x.signum();
    let x = x.abs() as f64;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    sign * (1.0 - poly * (-x * x).exp()) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_known_values() {
        for (x, want) in [
            (0.0, 0.0),
            (0.5, 0.520_499_9),
            (1.0, 0.842_700_8),
            (-2.0, -0.995_322_3),
        ] {
            assert!((erf(x) - want).abs() < 1e-6, "erf({x})");
        }
    }

    #[test]
    fn linear_multiplies_by_the_transposed_weight() {
        let layer = Linear {
            weight: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], // 2 outputs × 3 inputs
            bias: vec![0.5, -1.0],
            inputs: 3,
            outputs: 2,
        };
        let x = [1.0, 0.0, 2.0, 0.0, 1.0, 0.0]; // 2 rows
        assert_eq!(linear(&x, 2, &layer), [7.5, 15.0, 2.5, 4.0]);
    }
}
