// The fake Python runtime (DESIGN.md §8, §10): answers exactly what AlphaCore's scripts
// and the toolkit ask of python3 / a venv's python, nothing more. Invoked by the
// wrappers that ../fake-python.ts writes: `python.mjs [--fake-venv DIR] <python argv>`.
import fs from 'node:fs';
import path from 'node:path';
import { control, record, settings, sleep } from './common.mjs';

const NODE = process.execPath;
const HERE = path.dirname(new URL(import.meta.url).pathname);
const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

let argv = process.argv.slice(2);
let venv = '';
if (argv[0] === '--fake-venv') [venv, argv] = [argv[1], argv.slice(2)];

function fail(message, code = 1) {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

/** `python3 -m venv DIR`: bin/activate (sourceable under set -u), bin/python(3), bin/pip, pyvenv.cfg. */
function makeVenv(args) {
  const dirs = args.filter((a) => !a.startsWith('-'));
  if (dirs.length !== 1) fail('usage: venv [--clear] [--upgrade-deps] ENV_DIR (fake python: one dir)', 2);
  const dir = path.resolve(dirs[0]);
  if (args.includes('--clear')) fs.rmSync(dir, { recursive: true, force: true });
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  const py = [
    '#!/bin/bash',
    '# fake venv python (test runtime)',
    // An AlphaCore-shaped test repository (test/fixtures/alphacore-repo) carries its own
    // service stubs: its entry points run them directly, by exec, so that the pid PM2
    // sees is the stub's.
    'if [[ -f "$PWD/fixture/validator.mjs" ]]; then',
    '  case "${1:-}" in',
    `    -m) [[ "\${2:-}" == modules.evaluation.validation.sandbox.validation_api ]] && exec ${q(NODE)} "$PWD/fixture/api.mjs" ;;`,
    '    scripts/start_validator.py|neurons/validator.py|*/scripts/start_validator.py|*/neurons/validator.py)',
    `      entry="$1"; shift; FIXTURE_ENTRYPOINT="$entry" exec ${q(NODE)} "$PWD/fixture/validator.mjs" "$@" ;;`,
    '  esac',
    'fi',
    `export FAKE_PYTHON_CONTROL="\${FAKE_PYTHON_CONTROL:-${control}}"`,
    `exec ${q(NODE)} ${q(path.join(HERE, 'python.mjs'))} --fake-venv ${q(dir)} "$@"`,
    '',
  ].join('\n');
  for (const name of ['python', 'python3']) fs.writeFileSync(path.join(bin, name), py, { mode: 0o755 });
  fs.writeFileSync(path.join(bin, 'pip'), `#!/bin/bash\nexec ${q(path.join(bin, 'python'))} -m pip "$@"\n`, { mode: 0o755 });
  fs.writeFileSync(
    path.join(bin, 'activate'),
    [
      '# fake venv activate (test runtime): what `source bin/activate` does, safe under set -euo pipefail',
      'deactivate () {',
      '  if [ -n "${_OLD_VIRTUAL_PATH:-}" ]; then PATH="$_OLD_VIRTUAL_PATH"; export PATH; unset _OLD_VIRTUAL_PATH; fi',
      '  unset VIRTUAL_ENV',
      '  if [ "${1:-}" != "nondestructive" ]; then unset -f deactivate; fi',
      '}',
      'deactivate nondestructive',
      `VIRTUAL_ENV=${q(dir)}`,
      'export VIRTUAL_ENV',
      '_OLD_VIRTUAL_PATH="$PATH"',
      'PATH="$VIRTUAL_ENV/bin:$PATH"',
      'export PATH',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(path.join(dir, 'pyvenv.cfg'), `home = ${HERE}\nversion = 3.12.0\nfake = true\n`);
  const installed = path.join(dir, 'fake-installed.json');
  if (!fs.existsSync(installed)) fs.writeFileSync(installed, JSON.stringify(['pip'], null, 1));
  record('venvs.jsonl', { dir, args });
}

const norm = (name) => name.toLowerCase().replace(/[-_.]+/g, '-');

/** Requirement names of a requirements file (nested -r followed, options and comments skipped). */
function requirements(file, seen = new Set()) {
  const full = path.resolve(file);
  if (seen.has(full)) return [];
  seen.add(full);
  let text;
  try {
    text = fs.readFileSync(full, 'utf8');
  } catch {
    fail(`ERROR: Could not open requirements file: [Errno 2] No such file or directory: '${file}'`);
  }
  const names = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) continue;
    const nested = /^(-r|--requirement)\s*=?\s*(.+)$/.exec(line);
    if (nested) names.push(...requirements(path.resolve(path.dirname(full), nested[2]), seen));
    else if (!line.startsWith('-')) names.push(norm(line.split(/[\s\[<>=!~;@]/)[0]));
  }
  return names;
}

/** `python -m pip install ...`: records what it installs in the venv; offline unless PIP_NO_INDEX and satisfied. */
async function pip(args) {
  if (args[0] === '--version' || args[0] === '-V') return void process.stdout.write(`pip 24.0 from ${venv || HERE} (python 3.12) [fake]\n`);
  const sub = args.find((a) => !a.startsWith('-'));
  if (sub !== 'install') fail(`fake pip: only \`pip install\` is supported (got: ${args.join(' ')})`, 2);
  if (!venv) {
    fail('error: externally-managed-environment\n\nThis environment is externally managed (fake python: pip works only inside a venv).');
  }
  const wanted = [];
  const rest = args.slice(args.indexOf('install') + 1);
  let noIndex = /^(1|true|yes|on)$/i.test(process.env.PIP_NO_INDEX || '');
  for (let i = 0; i < rest.length; i += 1) {
    const a = rest[i];
    if (a === '-r' || a === '--requirement') wanted.push(...requirements(rest[(i += 1)]));
    else if (a.startsWith('--requirement=')) wanted.push(...requirements(a.slice(14)));
    else if (a === '--no-index') noIndex = true;
    else if (['-c', '--constraint', '-f', '--find-links', '-i', '--index-url', '--extra-index-url', '--target', '-t'].includes(a)) i += 1;
    else if (!a.startsWith('-')) wanted.push(norm(a.split(/[\[<>=!~;@]/)[0]));
  }
  const s = settings();
  const file = path.join(venv, 'fake-installed.json');
  const installed = new Set(JSON.parse(fs.readFileSync(file, 'utf8')));
  const missing = wanted.filter((n) => !installed.has(n));
  const offline = Boolean(s.networkDown);
  let ok = true;
  let why = '';
  if (noIndex && missing.length > 0) [ok, why] = [false, `ERROR: Could not find a version that satisfies the requirement ${missing[0]} (from versions: none)\nERROR: No matching distribution found for ${missing[0]}`];
  else if (!noIndex && offline) [ok, why] = [false, `WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by 'NewConnectionError': /simple/${wanted[0] ?? 'pip'}/\nERROR: Could not find a version that satisfies the requirement ${wanted[0] ?? 'pip'} (from versions: none) [fake: network down]`];
  if (s.pipChatter) {
    // What a real install prints: many lines on stdout, a warning on stderr, over a second.
    for (let i = 1; i <= 40; i += 1) process.stdout.write(`Collecting ${wanted[0] ?? 'pkg'}${i} (from -r modules/requirements.txt)\n`);
    await sleep(1000);
    process.stderr.write('WARNING: pip says this on stderr\n');
  }
  if (s.pipDelaySeconds > 0) await sleep(s.pipDelaySeconds * 1000);
  record('pip.jsonl', { venv, args, noIndex, offline, ok, wanted });
  // The AlphaCore-shaped fixture's own record (FixtureControl.pipRuns): pip's argv.
  if (process.env.ALPHACORE_FIXTURE_CONTROL) {
    try {
      fs.appendFileSync(path.join(process.env.ALPHACORE_FIXTURE_CONTROL, 'pip.jsonl'), `${JSON.stringify(args)}\n`);
    } catch {
      // a missing control dir must not change what pip does
    }
  }
  if (!ok) fail(why);
  for (const n of wanted) installed.add(n);
  fs.writeFileSync(file, JSON.stringify([...installed].sort(), null, 1));
  process.stdout.write(wanted.length ? `Successfully installed ${wanted.join(' ')} [fake]\n` : 'Nothing to install [fake]\n');
}

/** `python - FILE <<PY ... PY`: the one inline script AlphaCore runs (client_email of a creds file). */
function stdinScript(args) {
  const code = fs.readFileSync(0, 'utf8');
  if (!code.includes('client_email')) fail('fake python: cannot run this stdin script');
  try {
    const email = (JSON.parse(fs.readFileSync(args[0], 'utf8')).client_email || '').trim();
    if (email) process.stdout.write(`${email}\n`);
  } catch {
    // the real script swallows every error and prints nothing
  }
}

async function main() {
  while (['-u', '-B', '-E', '-s', '-I', '-q'].includes(argv[0])) argv = argv.slice(1);
  const [first, ...rest] = argv;
  if (first === '--version' || first === '-V') return void process.stdout.write('Python 3.12.0 (fake)\n');
  if (first === '-m') {
    const [mod, ...args] = rest;
    if (mod === 'venv') return makeVenv(args);
    if (mod === 'pip') return pip(args);
    if (mod === 'ensurepip') return;
    if (mod === 'modules.evaluation.validation.sandbox.validation_api') return (await import('./api.mjs')).runApi();
    fail(`${venv ? path.join(venv, 'bin/python') : 'python3'}: No module named ${mod} (fake python)`);
  }
  if (first === '-c') {
    // Import probes (e.g. `import venv, ensurepip`) succeed; real code does not run here.
    if (/^\s*(import\s+[\w.]+(\s*,\s*[\w.]+)*\s*;?\s*)+$/.test(rest[0] ?? '')) return;
    fail(`fake python: cannot run -c ${JSON.stringify(rest[0])}`);
  }
  if (first === '-') return stdinScript(rest);
  if (first === undefined) fail('fake python: no interactive mode', 2);
  const script = path.resolve(first);
  if (!fs.existsSync(script)) fail(`python: can't open file ${q(script)}: [Errno 2] No such file or directory`, 2);
  const rel = path.relative(process.cwd(), script);
  if (rel === path.join('scripts', 'start_validator.py') || rel === path.join('neurons', 'validator.py')) {
    return (await import('./validator.mjs')).runValidator({ entry: rel, args: rest, taskApi: rel.startsWith('scripts') });
  }
  fail(`fake python: does not know how to run ${rel}`);
}

await main();
