/**
 * Whether the workbench may colour its output: not when NO_COLOR is set (https://no-color.org)
 * or stdout is not a terminal. Components ask `useTheme().tone('red')`, which is undefined
 * without colour, so Ink writes no colour codes at all.
 */
import React, { createContext, type ReactNode, useContext } from 'react';

export type Tone = 'red' | 'green' | 'yellow' | 'cyan' | 'gray' | 'magenta';

export interface Theme {
  color: boolean;
  /** The colour to pass to <Text color>, or undefined without colour. */
  tone(name: Tone): Tone | undefined;
}

export function makeTheme(color: boolean): Theme {
  return { color, tone: (name) => (color ? name : undefined) };
}

export function colorAllowed(stdout: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stdout.isTTY) && !env.NO_COLOR;
}

const ThemeContext = createContext<Theme>(makeTheme(false));

export function ThemeProvider({ theme, children }: { theme: Theme; children: ReactNode }) {
  return <ThemeContext.Provider value={theme}>{children}</ThemeContext.Provider>;
}

export function useTheme(): Theme {
  return useContext(ThemeContext);
}
