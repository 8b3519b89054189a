/**
 * transformers.js (@huggingface/transformers, a dependency of smolbox) as the tests' peer: its
 * own pipeline('text-generation') and apply_chat_template, run in this process, offline. It
 * shares our onnxruntime-node (one copy: transformers.js pins the same version).
 */
import { AutoTokenizer, env, pipeline, type TextGenerationPipeline } from '@huggingface/transformers';

env.allowRemoteModels = false;
env.useFSCache = false;

export type PipelineResult = { promptIds: number[]; ids: number[]; text: string } | { error: string };

async function each<J, R>(jobs: J[], work: (job: J) => Promise<R>): Promise<(R | { error: string })[]> {
  const results: (R | { error: string })[] = [];
  for (const job of jobs) {
    try {
      results.push(await work(job));
    } catch (e) {
      results.push({ error: String((e as Error).message ?? e) });
    }
  }
  return results;
}

/**
 * transformers.js' apply_chat_template (with add_generation_prompt) for each tokenizer directory:
 * the rendered text and its ids. Its AutoTokenizer reads tokenizer_config.json's template only
 * (chat_template.jinja is read by its processors): pass such a template as `template`.
 */
export function transformersJsChat(jobs: { dir: string; messages: { role: string; content: string }[]; template?: string }[]): Promise<({ text: string; ids: number[] } | { error: string })[]> {
  return each(jobs, async (job) => {
    const tokenizer = await AutoTokenizer.from_pretrained(job.dir, { local_files_only: true });
    const options = { add_generation_prompt: true, return_tensor: false, return_dict: false, ...(job.template ? { chat_template: job.template } : {}) } as const;
    const text = tokenizer.apply_chat_template(job.messages, { ...options, tokenize: false }) as string;
    const ids = tokenizer.apply_chat_template(job.messages, options) as number[];
    return { text, ids };
  });
}

/** transformers.js' greedy continuation of `prompt` (n new tokens) for each model directory, through pipeline('text-generation'). */
export function transformersJsGreedy(jobs: { dir: string; prompt: string; n: number; dtype?: string }[]): Promise<PipelineResult[]> {
  return each(jobs, async (job) => {
    const dtype = (job.dtype ?? 'fp32') as 'fp32';
    const generator = (await pipeline('text-generation', job.dir, { local_files_only: true, dtype, device: 'cpu' })) as TextGenerationPipeline;
    try {
      const [{ generated_text: text }] = (await generator(job.prompt, { max_new_tokens: job.n, do_sample: false, return_full_text: false })) as { generated_text: string }[];
      const inputs = generator.tokenizer(job.prompt);
      const out = (await generator.model.generate({ ...inputs, max_new_tokens: job.n, do_sample: false })) as { tolist(): bigint[][] };
      const ids = out.tolist()[0].map(Number);
      const n = inputs.input_ids.dims[1];
      return { promptIds: ids.slice(0, n), ids: ids.slice(n), text };
    } finally {
      await generator.dispose();
    }
  });
}
