/** The account the process runs as, from the passwd database (what a login shell starts from). */
export interface Account {
  name: string;
  home: string;
  shell: string;
}

/**
 * The environment a login shell would give: USER and LOGNAME from the account when the
 * caller's environment lacks them, HOME and SHELL when missing (a HOME the caller set
 * is kept). cron, a bare `env -i` and some Ansible setups start the updater without
 * USER, and the repo's scripts run with `set -u`: setup_validation_api_pm2.sh prints
 * `$USER` on its last line, so without it the API's launcher fails after the API is up.
 */
export function withLoginEnv(env: Readonly<Record<string, string | undefined>>, account: Account | undefined): Record<string, string | undefined> {
  if (!account) return { ...env };
  return {
    ...env,
    USER: env.USER || account.name,
    LOGNAME: env.LOGNAME || account.name,
    HOME: env.HOME || account.home,
    SHELL: env.SHELL || account.shell || '/bin/sh',
  };
}
