// The task-generation API of scripts/start_validator.py: a side process
// (multiprocessing.Process, daemon=True) serving ALPHACORE_HTTP_PORT. A busy port is
// logged and this process ends; the validator keeps running (run_task_generation_api_process
// catches the error). Ctrl-C (PM2's stop signal reaches the whole tree) ends it.
import http from 'node:http';
import { record, version } from './common.mjs';

const port = Number(process.env.ALPHACORE_HTTP_PORT || 8000);
const host = process.env.ALPHACORE_HTTP_HOST || '0.0.0.0';
http
  .createServer((req, res) => {
    res.writeHead(req.url === '/health' ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(req.url === '/health' ? { status: 'healthy', service: 'task-generation', version: version() } : { detail: 'Not Found' }));
  })
  .on('error', (error) => {
    console.error(`Task Generation API error: ${error.message}`);
    process.exit(0);
  })
  .listen(port, host, () => {
    record('taskgen-ready.jsonl', { host, port, validatorPid: process.ppid });
  });
process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
// Like the real daemonic child it has no parent-death signal: the validator ends it when it
// exits (multiprocessing's atexit), PM2's stop reaches it through the process tree. Unlike
// it, this stand-in also ends once orphaned (its validator killed with SIGKILL, e.g. with a
// test's PM2 daemon): a leftover would hold the port and keep the throwaway user from
// being deleted (userdel refuses a user with a running process).
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 500).unref();
