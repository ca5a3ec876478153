import { parseCommandLine } from './shell-parser.js';

const utilities = (text: string): string[] => parseCommandLine(text).commands.map((c) => c.utility);

describe('parser bridge', () => {
  it('given a pipeline and lists, when parsed, then every simple command is listed in order', () => {
    expect(utilities('ls -l /srv | sort -k5 && echo done; date || true')).toEqual([
      'ls',
      'sort',
      'echo',
      'date',
      'true',
    ]);
  });

  it('given a subshell and a command substitution, when parsed, then the inner commands are seen', () => {
    const parsed = parseCommandLine('(cd /opt/app && make) ; echo "$(whoami)"');
    expect(parsed.commands.map((c) => c.utility)).toEqual(['cd', 'make', 'whoami', 'echo']);
    expect(parsed.commands.find((c) => c.utility === 'whoami')?.origin).toBe('substitution');
  });

  it('given redirections, when parsed, then they are attached to their command', () => {
    const [cmd] = parseCommandLine('sort names.txt > sorted.txt 2>/dev/null').commands;
    expect(cmd?.redirects.map((r) => `${r.fd ?? ''}${r.op}${r.target}`)).toEqual(['>sorted.txt', '2>/dev/null']);
  });

  it('given env assignments and wrappers, when parsed, then the wrapped command is found with its wrappers', () => {
    const [cmd] = parseCommandLine('LANG=C sudo -u deploy nohup timeout 5 nice -n 10 tar czf a.tgz dir').commands;
    expect(cmd?.argv).toEqual(['tar', 'czf', 'a.tgz', 'dir']);
    expect(cmd?.wrappers).toEqual(['sudo', 'nohup', 'timeout', 'nice']);
    expect(cmd?.assignments).toContain('LANG=C');
  });

  it('given xargs and sh -c, when parsed, then the commands they run are found', () => {
    expect(utilities('find . -name "*.log" | xargs -0 rm -f')).toEqual(['find', 'rm', 'xargs']);
    expect(utilities(`bash -c 'shred secret.txt; ls'`)).toContain('shred');
  });

  it('given decoded text piped into a shell, when parsed, then the shell runs unknown code', () => {
    const shell = parseCommandLine('echo ZWNobyBoaQ== | base64 -d | sh').commands.at(-1);
    expect(shell?.runsUnknownCode).toBe(true);
    expect(shell?.upstream).toEqual(['echo', 'base64']);
    expect(parseCommandLine('sh ./install.sh').commands[0]?.runsUnknownCode).toBe(false);
  });

  it('given a heredoc, when parsed, then the command and its body are kept', () => {
    const [cmd] = parseCommandLine('cat <<EOF > notes.md\nhello\nEOF\n').commands;
    expect(cmd?.utility).toBe('cat');
    expect(cmd?.redirects.map((r) => r.op)).toEqual(['<<', '>']);
  });
});
