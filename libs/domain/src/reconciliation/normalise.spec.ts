import { parseCommandLine } from './shell-parser.js';

const same = (a: string, b: string): boolean => parseCommandLine(a).canonical === parseCommandLine(b).canonical;

describe('normalisation', () => {
  it.each([
    ['whitespace', 'du   -sh  /opt', 'du -sh /opt'],
    ['quoting', `grep "needle" 'hay stack.txt'`, 'grep needle hay\\ stack.txt'],
    ['short-flag order', 'ls -tr /opt', 'ls -rt /opt'],
    ['short-flag split', 'rm -rf build', 'rm -r -f build'],
    ['GNU long flag', 'mkdir --parents a/b', 'mkdir -p a/b'],
    ['long flag with value', 'head --lines=3 notes', 'head -n 3 notes'],
    ['attached value', 'head -n3 notes', 'head -n 3 notes'],
    ['home spelling', 'ls ~/projects', 'ls $HOME/projects'],
    ['find implicit -print', 'find /srv -name "*.bak"', 'find /srv -name "*.bak" -print'],
    ['find terminator', "find . -exec wc -l {} ';'", 'find . -exec wc -l {} \\;'],
    ['inside xargs', 'xargs rm --force', 'xargs rm -f'],
  ])('given %s, when normalised, then the commands are equal', (_name, a, b) => {
    expect(same(a, b)).toBe(true);
  });

  it.each([
    ['an added flag', 'rm -r build', 'rm -rf build'],
    ['a changed target', 'ls /opt', 'ls /etc'],
    ['append versus truncate', 'date >> log', 'date > log'],
    ['a flag that takes a value moved', 'tar -cf a.tar b', 'tar -fc a.tar b'],
    ['an explicit action in find', 'find . -name x', 'find . -name x -delete'],
  ])('given %s, when normalised, then the commands differ', (_name, a, b) => {
    expect(same(a, b)).toBe(false);
  });
});
