// Shared by the fake Python runtime (see ../fake-python.ts for what it answers and why).
// Settings come from two places, read fresh on every check so a test can flip them live:
//   <repo>/.fake-python.json   committed in the deploy clone: what this release does
//   <control>/settings.json    per test (FAKE_PYTHON_CONTROL): the rest
// A key the commit sets wins: "push a release that crashes" must crash whatever the test set.
import fs from 'node:fs';
import path from 'node:path';

export const COMMIT_FILE = '.fake-python.json';
export const control = process.env.FAKE_PYTHON_CONTROL || '';

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
}

export function settings(repo = process.cwd()) {
  const fromTest = control ? readJson(path.join(control, 'settings.json')) : {};
  const fromCommit = readJson(path.join(repo, COMMIT_FILE));
  const merged = { ...fromTest, ...fromCommit };
  if (/^(1|true|yes|on|down)$/i.test(process.env.FAKE_PYTHON_NETWORK_DOWN || '')) merged.networkDown = true;
  if (process.env.FAKE_PYTHON_PIP_DELAY) merged.pipDelaySeconds = Number(process.env.FAKE_PYTHON_PIP_DELAY);
  return merged;
}

export function version(repo = process.cwd()) {
  try {
    return fs.readFileSync(path.join(repo, 'VERSION'), 'utf8').trim();
  } catch {
    return '0.0.0';
  }
}

/** Appends one JSON line to a record file of the control dir (never fails the caller). */
export function record(file, data) {
  if (!control) return;
  try {
    fs.appendFileSync(path.join(control, file), `${JSON.stringify({ ts: Date.now(), pid: process.pid, ...data })}\n`, { mode: 0o666 });
  } catch {
    // a missing or closed control dir must not change what the runtime does
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The environment a stub records: what the real process reads, nothing else (no secrets of the test). */
export function relevantEnv() {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => /^(ALPHACORE_|BT_|ENV_FILE$|VENV_DIR$|ENTRYPOINT$|VIRTUAL_ENV$|PROCESS_NAME$|PYTHONPATH$|PIP_NO_INDEX$|LOG_DIR$)/.test(k)),
  );
}

/** Python's truthiness of an env flag, as neurons/validator.py's _env_flag reads it. */
export function envFlag(key, fallback) {
  const raw = process.env[key];
  if (raw === undefined) return fallback;
  return ['1', 'true', 'yes', 'y', 'on'].includes(raw.trim().toLowerCase());
}

/**
 * The first requirement of <repo>/modules/requirements.txt the running venv lacks: the
 * real process dies at that import (a venv whose pip install failed is not usable).
 */
export function missingImport(repo = process.cwd()) {
  const venv = process.env.VIRTUAL_ENV;
  if (!venv) return undefined;
  let installed;
  let wanted;
  try {
    installed = new Set(JSON.parse(fs.readFileSync(path.join(venv, 'fake-installed.json'), 'utf8')));
    wanted = fs.readFileSync(path.join(repo, 'modules', 'requirements.txt'), 'utf8').split('\n');
  } catch {
    return undefined;
  }
  for (const raw of wanted) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line || line.startsWith('-')) continue;
    const name = line.split(/[\s\[<>=!~;@]/)[0].toLowerCase().replace(/[-_.]+/g, '-');
    if (!installed.has(name)) return name;
  }
  return undefined;
}
