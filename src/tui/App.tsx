/**
 * The workbench: finished steps scroll up as static output, the running step redraws below
 * them, then the state and history panels and the prompt. Every line goes to the engine bridge
 * (a worker thread in `smox`), which runs it exactly as the CLI would and streams events back.
 *
 * Keys: Enter runs the line, Tab completes, Up/Down walk the line history, Ctrl-C cancels the
 * running step (twice: quits at once) or clears the line, Ctrl-C twice on an empty line or
 * Ctrl-D quits. Lines entered while a step runs (typed ahead, or the rest of a multi-line
 * paste) wait in a queue under the panels and run one after another, in order.
 *
 * `chat` switches the prompt to chat mode (chat.ts): each line is a user turn, run as a
 * sampler step through the same bridge; `/exit`, Esc or Ctrl-D on an empty line switch back.
 */
import { Box, Static, Text, useApp, useStdout } from 'ink';
import React, { useEffect, useMemo, useRef, useState } from 'react';
import { complete, type Completion, type CompletionSources } from '../core/completion.js';
import { type HistoryRecord, readHistory } from '../core/history.js';
import { splitCommandLine } from '../core/parse-args.js';
import { commandNames, type LoadedTool, listToolEntries, loadAllTools, loadTool } from '../core/registry.js';
import { readState, type SmolboxState } from '../core/state.js';
import type { ArgsSchema } from '../core/tool.js';
import type { EngineBridge, EngineInfo, StepOutcome, WorkbenchEvent } from '../engine/worker-bridge.js';
import { afterTurn, type Chat, CHAT_TOOL, CHAT_USAGE, CHAT_WORD, LEAVE_CHAT, openChat, replyCollector, turnWords } from './chat.js';
import { HistoryPanel } from './HistoryPanel.js';
import { loadLines, saveLine } from './line-history.js';
import { Prompt } from './Prompt.js';
import { StatePanel } from './StatePanel.js';
import { applyEvent, finishStep, startStep, type Step } from './steps.js';
import { StepView } from './StepView.js';
import { useTheme } from './theme.js';

export interface AppProps {
  bridge: EngineBridge;
  /** The directory whose `.smolbox/` the session works in. */
  cwd: string;
  /** Where the line history lives (line-history.ts). */
  historyFile: string;
  /** Environment for finding user tools. */
  env?: NodeJS.ProcessEnv;
  /** Terminal size; the stdout's by default. */
  columns?: number;
  rows?: number;
  /** Called before the app exits; `force` when a running step should not be waited for. */
  onExit?: (opts: { force: boolean }) => void;
  /** Told of every finished step (tests wait on it). */
  onStepFinished?: (step: Step) => void;
  /** Clock, injectable for tests. */
  now?: () => number;
  /** `smox --debug`: a failure's stack under its red line. */
  debug?: boolean;
}

/** Words the workbench itself answers. */
const QUIT_WORDS = ['quit', 'exit'];
/** Names of the CLI, dropped from the front of a line. */
const PROGRAM_NAMES = ['smox', 'smolbox'];
/** The running step redraws at most this often (ms). */
const FRAME_MS = 33;
/** Side by side from this width; stacked below it. */
const WIDE = 100;
/** Queued lines listed at most; the rest are counted. */
const QUEUE_ROWS = 4;

type Banner = { id: -1; banner: true };
type Item = Step | Banner;

const BANNER: Banner = { id: -1, banner: true };

export function App({ bridge, cwd, historyFile, env = process.env, columns, rows, onExit, onStepFinished, now = Date.now, debug = false }: AppProps) {
  const theme = useTheme();
  const { exit } = useApp();
  const { stdout } = useStdout();
  const width = Math.max(40, columns ?? stdout.columns ?? 80);
  const height = rows ?? stdout.rows ?? 24;

  const [done, setDone] = useState<Item[]>([BANNER]);
  const [live, setLiveState] = useState<Step | null>(null);
  const liveRef = useRef<Step | null>(null);
  const setLive = (s: Step | null) => {
    liveRef.current = s;
    setLiveState(s);
  };
  const nextId = useRef(1);
  const redraw = useRef<NodeJS.Timeout | null>(null);
  // The prompt keeps its own copy to walk; this one is what the file is cut back to.
  const [entries] = useState<string[]>(() => loadLines(historyFile));
  const saved = useRef(entries);
  const [queue, setQueueState] = useState<string[]>([]);
  const queueRef = useRef<string[]>([]);
  const setQueue = (q: string[]) => {
    queueRef.current = q;
    setQueueState(q);
  };
  const [state, setState] = useState<SmolboxState | null>(() => readState(cwd));
  const [records, setRecords] = useState<HistoryRecord[]>(() => readHistory(cwd));
  const [info, setInfo] = useState<EngineInfo | null>(null);
  // The open chat, if any (chat.ts); a ref as well: queued lines read it before a render.
  const [chat, setChatState] = useState<Chat | null>(null);
  const chatRef = useRef<Chat | null>(null);
  const setChat = (c: Chat | null) => {
    chatRef.current = c;
    setChatState(c);
  };
  // Names complete at once from the directory listing; flags once the modules are imported.
  const [names] = useState(() => listToolEntries(env).map((e) => ({ name: e.name, def: { args: {} } })));
  const [tools, setTools] = useState<LoadedTool[] | null>(null);
  // A ref as well: two Ctrl-C in one chunk act before a render.
  const [quitArmed, setQuitArmedState] = useState(false);
  const quitArmedRef = useRef(false);
  const setQuitArmed = (armed: boolean) => {
    if (quitArmedRef.current === armed) return;
    quitArmedRef.current = armed;
    setQuitArmedState(armed);
  };

  useEffect(() => {
    let alive = true;
    void bridge.ready().then((i) => alive && setInfo((old) => old ?? i));
    void loadAllTools(env).then(({ tools: t }) => alive && setTools(t));
    return () => {
      alive = false;
    };
  }, [bridge, env]);

  // A redraw still pending when the app goes away has nothing left to draw.
  useEffect(() => () => clearTimeout(redraw.current ?? undefined), []);

  const commands = useMemo(() => [...commandNames(), 'help', CHAT_WORD, ...QUIT_WORDS], []);
  const schemas = useMemo(() => new Map<string, ArgsSchema>((tools ?? []).map((t) => [t.name, t.def.args])), [tools]);
  const infoRef = useRef(info);
  infoRef.current = info;
  // `chat` completes the sampler's flags that a chat passes on.
  const chatEntry = useMemo(() => {
    const sampler = tools?.find((t) => t.name === CHAT_TOOL);
    return sampler ? [{ name: CHAT_WORD, def: { args: sampler.def.args } }] : [];
  }, [tools]);
  const sources: CompletionSources = useMemo(
    () => ({
      tools: [...(tools ?? names), ...chatEntry],
      commands,
      cwd,
      models: () => infoRef.current?.builtins.models ?? [],
      datasets: () => infoRef.current?.builtins.datasets ?? [],
      paramNames: () => infoRef.current?.paramNames ?? [],
    }),
    [tools, names, chatEntry, commands, cwd],
  );
  // A chat message is prose: Tab completes nothing in it.
  const completeLine = (line: string, cursor: number): Completion =>
    chatRef.current ? { candidates: [], common: '', start: cursor } : complete(line, cursor, sources);

  const quit = (force: boolean) => {
    onExit?.({ force });
    exit();
  };

  const finish = (step: Step) => {
    if (redraw.current) clearTimeout(redraw.current);
    redraw.current = null;
    setDone((d) => [...d, step]);
    setLive(null);
    setState(readState(cwd));
    setRecords(readHistory(cwd));
    onStepFinished?.(step);
    const [next, ...rest] = queueRef.current;
    if (next === undefined) return;
    setQueue(rest);
    run(next);
  };

  /** A line from the prompt: run now, or after the steps before it when one runs. */
  const submit = (line: string) => {
    const text = line.trim();
    setQuitArmed(false);
    if (!text) return;
    // Chat messages stay out of the line history file: it holds commands.
    if (!chatRef.current) saved.current = saveLine(historyFile, saved.current, text);
    if (liveRef.current || queueRef.current.length > 0) return setQueue([...queueRef.current, text]);
    run(text);
  };

  const run = (text: string) => {
    if (chatRef.current) return text === LEAVE_CHAT ? leaveChat() : chatTurn(chatRef.current, text);
    if (QUIT_WORDS.includes(text)) return quit(false);
    const step = startStep(nextId.current++, text, now());
    let words: string[];
    try {
      words = splitCommandLine(text);
      // A line pasted from a script or the README still starts with the program's name.
      if (PROGRAM_NAMES.includes(words[0])) words = words.slice(1);
    } catch (err) {
      const message = (err as Error).message;
      return finish(finishStep(applyEvent(step, { type: 'error', message }, now()), { ok: false, failure: 'usage', error: message }, now()));
    }
    if (words[0] === CHAT_WORD) return void enterChat(step, words.slice(1));
    send(step, words);
  };

  /** Runs a step's words through the engine; `onEvent` and `onOutcome` see it before the step is drawn finished. */
  const send = (step: Step, words: string[], onEvent?: (e: WorkbenchEvent) => void, onOutcome?: (o: StepOutcome) => void) => {
    setLive(step);
    void bridge
      .step(words, cwd, (e) => {
        onEvent?.(e);
        if (!liveRef.current) return;
        // Folded at once, drawn at most once a frame: a sampler streams thousands of tokens a
        // second, and a React render per token would starve the keys.
        liveRef.current = applyEvent(liveRef.current, e, now());
        redraw.current ??= setTimeout(() => {
          redraw.current = null;
          setLiveState(liveRef.current);
        }, FRAME_MS);
        // The worker cannot know the terminal: tables (`history`) are cut to the workbench's width.
      }, { columns: width })
      .then(({ outcome, info: after }) => {
        setInfo(after);
        // Before finish: it may start the next queued line, which reads the chat.
        onOutcome?.(outcome);
        finish(finishStep(liveRef.current ?? step, outcome, now()));
      });
  };

  /** A step that ends at once with these lines (no engine involved). */
  const said = (step: Step, lines: string[], error?: string) => {
    const shown = lines.reduce((s, line) => applyEvent(s, { type: 'output', line }, now()), step);
    const outcome: StepOutcome = error ? { ok: false, failure: 'usage', error } : { ok: true };
    finish(finishStep(error ? applyEvent(shown, { type: 'error', message: error }, now()) : shown, outcome, now()));
  };

  /** `chat …`: checks its flags against the sampler's, then the prompt takes messages. */
  const enterChat = async (step: Step, argv: string[]) => {
    setLive(step);
    try {
      const opened = openChat(argv, (await loadTool(CHAT_TOOL, env)).def);
      if ('help' in opened) return said(step, CHAT_USAGE);
      setChat(opened);
      const model = opened.modelPath ?? readState(cwd)?.model_path;
      said(step, [`chatting with ${model ?? 'the model'}: type a message; Ctrl-C stops a reply, ${LEAVE_CHAT}, Esc or Ctrl-D leaves`]);
    } catch (err) {
      said(step, [], (err as Error).message.split('\n')[0]);
    }
  };

  const chatTurn = (open: Chat, text: string) => {
    const step = { ...startStep(nextId.current++, text, now()), chat: true };
    const reply = replyCollector();
    send(step, turnWords(open, text), reply.onEvent, (outcome) => {
      // The chat may have been left meanwhile (Esc while the reply ran is ignored, but be safe).
      if (chatRef.current === open) setChat(afterTurn(open, text, outcome, reply.reply()));
    });
  };

  const leaveChat = () => {
    const turns = (chatRef.current?.messages.length ?? 0) / 2;
    setChat(null);
    said(startStep(nextId.current++, LEAVE_CHAT, now()), [`left the chat after ${turns} ${turns === 1 ? 'turn' : 'turns'}`]);
  };

  // Ctrl-C cancels the running step and drops the lines queued behind it (a paste gone wrong
  // stops as a whole); pressed again while it winds down, it quits at once.
  const interrupt = () => {
    const running = liveRef.current;
    if (!running) return quitArmedRef.current ? quit(false) : setQuitArmed(true);
    if (running.cancelling) return quit(true);
    setQueue([]);
    bridge.cancel();
    setLive({ ...running, cancelling: true });
  };

  const wide = width >= WIDE;
  const panelWidth = wide ? Math.floor(width / 2) : width;
  const historyRowsShown = height >= 40 ? 6 : 3;
  // What the live step may take: the terminal less the panels and the prompt.
  const liveTail = Math.max(4, height - (wide ? 8 : 16) - 6);

  return (
    <Box flexDirection="column" width={width}>
      <Static items={done}>
        {(item) =>
          'banner' in item ? (
            <Box key="banner" flexDirection="column">
              <Text bold color={theme.tone('cyan')}>
                smolbox workbench
              </Text>
              <Text color={theme.tone('gray')}>type help · Tab completes · ↑/↓ history · Ctrl-C cancels · Ctrl-D quits</Text>
            </Box>
          ) : (
            <StepView key={item.id} step={item} width={width} debug={debug} />
          )
        }
      </Static>
      {live && <StepView step={live} width={width} tail={liveTail} debug={debug} />}
      <Box flexDirection={wide ? 'row' : 'column'} marginTop={1}>
        <StatePanel state={state} info={info} cwd={cwd} width={panelWidth} tools={tools && { all: tools.length, user: tools.filter((t) => t.origin === 'user').length }} />
        <HistoryPanel records={records} schemas={schemas} width={panelWidth} rows={historyRowsShown} />
      </Box>
      {live && <Text color={theme.tone('gray')}>{live.cancelling ? 'cancelling…' : 'running… (Ctrl-C cancels)'}</Text>}
      {queue.slice(0, QUEUE_ROWS).map((line, i) => (
        <Text key={i} color={theme.tone('gray')} wrap="truncate-end">
          {`queued › ${line}`}
        </Text>
      ))}
      {queue.length > QUEUE_ROWS && <Text color={theme.tone('gray')}>{`… ${queue.length - QUEUE_ROWS} more queued`}</Text>}
      <Prompt
        entries={entries}
        complete={completeLine}
        busy={() => liveRef.current !== null}
        onSubmit={submit}
        onInterrupt={interrupt}
        // Ctrl-D while a step runs would quit under it; it waits for the prompt like a shell's.
        // In a chat it leaves the chat, as Esc does.
        onEof={() => liveRef.current === null && (chatRef.current ? leaveChat() : quit(false))}
        onEscape={() => liveRef.current === null && queueRef.current.length === 0 && chatRef.current && leaveChat()}
        sign={chat ? 'chat' : 'smox'}
        onKey={() => setQuitArmed(false)}
        width={width}
      />
      {quitArmed && <Text color={theme.tone('yellow')}>press Ctrl-C again or Ctrl-D to quit</Text>}
    </Box>
  );
}
