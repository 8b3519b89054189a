/**
 * A small typed dataflow graph that architectures describe their forward pass to, and that
 * serialises to ONNX (onnx-writer.ts). Every node keeps its op type, its input and output
 * values and its typed attributes, and every value its dtype and shape (numbers where static,
 * names like 'batch' or 'seq' where not), so a reverse-mode pass can walk `nodes` backwards
 * and emit one vector-Jacobian rule per op. Ops with shape rules live in ops.ts.
 */

export type DType = 'float32' | 'float16' | 'int64' | 'int32' | 'bool' | 'uint8';

/** A dimension: a static size, or a symbolic name ('batch', 'seq', 'past_seq', 'total_seq'). */
export type Dim = number | string;

/** Where a value comes from. */
export type ValueKind = 'input' | 'param' | 'constant' | 'node';

/** An edge of the graph: a named tensor with a dtype and a (possibly symbolic) shape. */
export interface Value {
  /** The ONNX tensor name; node outputs are `<node name>/output_<i>` until named as a graph output. */
  name: string;
  dtype: DType;
  shape: Dim[];
  kind: ValueKind;
  /** The node that computes it (kind 'node' only). */
  producer?: Node;
}

/** A typed ONNX attribute (ONNX tells ints from floats, so the tag is explicit). */
export type Attr =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string }
  | { type: 'ints'; value: number[] }
  | { type: 'floats'; value: number[] };

export const attr = {
  int: (value: number): Attr => ({ type: 'int', value }),
  float: (value: number): Attr => ({ type: 'float', value }),
  string: (value: string): Attr => ({ type: 'string', value }),
  ints: (value: number[]): Attr => ({ type: 'ints', value }),
  floats: (value: number[]): Attr => ({ type: 'floats', value }),
};

/** One operator application, recorded in emission (= topological) order. */
export interface Node {
  /** Path-style, unique: `/model/layers.0/attn/q_proj/MatMul`. */
  name: string;
  opType: string;
  /** '' for the default ONNX domain, 'com.microsoft' for ORT contrib ops. */
  domain: string;
  /** `null` marks an omitted optional input. */
  inputs: (Value | null)[];
  outputs: Value[];
  attrs: Record<string, Attr>;
}

export type ConstantData = Float32Array | BigInt64Array | Int32Array | Uint8Array;

/** A constant tensor baked into the graph (shape/index helpers, masks, RoPE frequencies). */
export interface Constant {
  value: Value;
  data: ConstantData;
}

/** The shape of one output a node declares. */
export interface OutputSpec {
  dtype: DType;
  shape: Dim[];
}

export class Graph {
  /** Nodes in emission order, which is a topological order. */
  readonly nodes: Node[] = [];
  /** Runtime inputs (input_ids, attention_mask, past_key_values.*), in declaration order. */
  readonly inputs: Value[] = [];
  /** Graph outputs (logits, present.*), in declaration order. */
  readonly outputs: Value[] = [];
  /**
   * Trainable parameters by Hugging Face name. The writer turns them into initializers or
   * graph inputs; the builder never sees their data, so one graph serves inference and training.
   */
  readonly params = new Map<string, Value>();
  /** Constants by name; the same name returns the same value (deduplication). */
  readonly constants = new Map<string, Constant>();
  private readonly names = new Set<string>();
  private readonly nodeNames = new Set<string>();

  /** Declares a runtime input. */
  input(name: string, dtype: DType, shape: Dim[]): Value {
    this.claim(name);
    const v: Value = { name, dtype, shape: [...shape], kind: 'input' };
    this.inputs.push(v);
    return v;
  }

  /** A float32 parameter named as in the checkpoint; asking twice (tied weights) gives one value. */
  param(name: string, shape: number[]): Value {
    const existing = this.params.get(name);
    if (existing) {
      if (existing.shape.join() !== shape.join()) {
        throw new Error(`parameter ${name} declared as [${existing.shape}] and [${shape}]`);
      }
      return existing;
    }
    this.claim(name);
    const v: Value = { name, dtype: 'float32', shape: [...shape], kind: 'param' };
    this.params.set(name, v);
    return v;
  }

  /**
   * A constant. Without a name it is named by its content (`/const/int64/[0,2,1,3]`), so
   * the same small constant used in every layer is stored once.
   */
  constant(dtype: DType, shape: number[], data: ConstantData, name?: string): Value {
    const key = name ?? constantName(dtype, shape, data);
    const existing = this.constants.get(key);
    if (existing) {
      if (existing.value.dtype !== dtype || !sameData(existing.data, data)) {
        throw new Error(`constant ${key} defined twice with different contents`);
      }
      return existing.value;
    }
    this.claim(key);
    const value: Value = { name: key, dtype, shape: [...shape], kind: 'constant' };
    this.constants.set(key, { value, data });
    return value;
  }

  /** An int64 constant: a scalar for a number, a 1-D tensor for a list. */
  int64(values: number | number[]): Value {
    const list = typeof values === 'number' ? [values] : values;
    return this.constant('int64', typeof values === 'number' ? [] : [list.length], BigInt64Array.from(list.map(BigInt)));
  }

  /** A float32 constant: a scalar for a number, a 1-D tensor for a list. */
  float32(values: number | number[]): Value {
    const list = typeof values === 'number' ? [values] : values;
    return this.constant('float32', typeof values === 'number' ? [] : [list.length], Float32Array.from(list));
  }

  /** Records a node and returns its output values. Ops in ops.ts are the usual callers. */
  node(
    opType: string,
    name: string,
    inputs: (Value | null)[],
    outputs: OutputSpec[],
    attrs: Record<string, Attr> = {},
    domain = '',
  ): Value[] {
    if (this.nodeNames.has(name)) throw new Error(`duplicate node name ${name}`);
    this.nodeNames.add(name);
    const node: Node = { name, opType, domain, inputs, outputs: [], attrs };
    node.outputs = outputs.map((spec, i) => {
      const outName = `${name}/output_${i}`;
      this.claim(outName);
      return { name: outName, dtype: spec.dtype, shape: [...spec.shape], kind: 'node' as const, producer: node };
    });
    this.nodes.push(node);
    return node.outputs;
  }

  /**
   * Marks `v` as a graph output named `name` (e.g. 'logits'). A node's output is renamed in
   * place; an input, parameter or constant (or a value already exported) is passed through
   * an Identity node, since ONNX names a tensor once.
   */
  output(v: Value, name: string, shape?: Dim[]): Value {
    let out = v;
    if (v.kind !== 'node' || this.outputs.includes(v)) {
      [out] = this.node('Identity', `/outputs/${name}/Identity`, [v], [{ dtype: v.dtype, shape: v.shape }]);
    }
    this.names.delete(out.name);
    this.claim(name);
    out.name = name;
    if (shape) out.shape = [...shape];
    this.outputs.push(out);
    return out;
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`duplicate tensor name ${name}`);
    this.names.add(name);
  }
}

/** `/const/float32/0.5` (scalar), `/const/int64/[0,2,1,3]` (1-D), `/const/int64/[2,2]:[1,0,0,1]`. */
function constantName(dtype: DType, shape: number[], data: ConstantData): string {
  const values = Array.from(data as ArrayLike<number | bigint>).join(',');
  if (shape.length === 0) return `/const/${dtype}/${values}`;
  if (shape.length === 1) return `/const/${dtype}/[${values}]`;
  return `/const/${dtype}/[${shape}]:[${values}]`;
}

function sameData(a: ConstantData, b: ConstantData): boolean {
  if (a.length !== b.length || a.constructor !== b.constructor) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
