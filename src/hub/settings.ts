/**
 * Hugging Face hub settings from the environment, with the Python huggingface_hub's names
 * and precedence. @huggingface/hub reads only HF_HUB_CACHE/HF_HOME itself; the token, the
 * endpoint and offline mode are ours to map.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../core/tool.js';

/** Where and how to reach the hub. */
export interface HubSettings {
  /** Base URL of the hub (HF_ENDPOINT), without a trailing slash. */
  hubUrl: string;
  /** Bearer token (HF_TOKEN, HUGGING_FACE_HUB_TOKEN, or the token file `hf auth login` writes). */
  accessToken?: string;
  /** The cache root holding `models--owner--name/` folders. */
  cacheDir: string;
  /** HF_HUB_OFFLINE: never touch the network, read cached snapshots only. */
  offline: boolean;
}

const TRUE_VALUES = new Set(['1', 'on', 'yes', 'true']);

export function hubSettings(env: NodeJS.ProcessEnv = process.env): HubSettings {
  const hfHome = env.HF_HOME ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'huggingface');
  const cacheDir = env.HF_HUB_CACHE ?? path.join(hfHome, 'hub');
  const hubUrl = (env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, '');
  let accessToken = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined;
  if (!accessToken) {
    const tokenFile = env.HF_TOKEN_PATH ?? path.join(hfHome, 'token');
    try {
      accessToken = fs.readFileSync(tokenFile, 'utf8').trim() || undefined;
    } catch {
      // No saved login: anonymous access.
    }
  }
  if (accessToken && !accessToken.startsWith('hf_')) {
    throw new UserError('HF_TOKEN does not look like a Hugging Face token (they start with hf_); fix or unset it');
  }
  const offline = TRUE_VALUES.has((env.HF_HUB_OFFLINE ?? '').toLowerCase());
  return { hubUrl, accessToken, cacheDir, offline };
}
