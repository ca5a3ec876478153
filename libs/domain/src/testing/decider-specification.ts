/**
 * Given/when/then specifications of deciders (after Emmett's `DeciderSpecification`):
 *
 *   const spec = DeciderSpecification.for(approvalDecider);
 *   spec.given([granted]).when(revoke).then([revoked]);
 *   spec.given([rejected]).when(grant).thenThrows(ApprovalAlreadyDecidedError);
 *
 * `given` folds the events with the decider's `evolve` from its `initialState`; `when` decides the command on that
 * state. Expected events may hold Jest's asymmetric matchers (`expect.objectContaining`). A test file, not library
 * code: it uses Jest's `expect` (this folder is left out of the library's build).
 */
/** A decider's three functions. `Given`: what its stream holds, when that is more than it decides itself. */
export interface Decider<Command, Event, State, Given = Event> {
  decide(command: Command, state: State): readonly Event[];
  evolve(state: State, event: Given): State;
  initialState(): State;
}

/** An error class, or the stable `code` of a LedgerError (`APPROVAL.NOT_FOUND`). */
export type ExpectedError = (abstract new (...args: never[]) => Error) | string;

export class DeciderOutcome<Event> {
  constructor(private readonly decide: () => readonly Event[]) {}

  /** Exactly these events, in this order. */
  then(expected: readonly Event[]): void {
    expect(this.decide()).toEqual(expected);
  }

  /** Nothing is decided (the command was carried out before, or there is nothing to do). */
  thenNothing(): void {
    expect(this.decide()).toEqual([]);
  }

  /** The decided events pass `check` (for assertions beyond equality: one field, a schema, a count). */
  thenEvents(check: (events: readonly Event[]) => void): void {
    check(this.decide());
  }

  /** The decider refuses with this error class (or an error with this code); `check` may look at the error. */
  thenThrows<E extends Error>(expected: ExpectedError, check?: (error: E) => void): void {
    let thrown: unknown;
    let decided: readonly Event[] | undefined;
    try {
      decided = this.decide();
    } catch (error) {
      thrown = error;
    }
    if (thrown === undefined) throw new Error(`expected the decider to refuse, it decided ${JSON.stringify(decided)}`);
    if (typeof expected === 'string') expect(thrown).toHaveProperty('code', expected);
    else expect(thrown).toBeInstanceOf(expected);
    check?.(thrown as E);
  }

  /** The decided events themselves: to build the next `given`, or for a property test. */
  events(): readonly Event[] {
    return this.decide();
  }
}

export class DeciderSpecification<Command, Event, State, Given = Event> {
  private constructor(private readonly decider: Decider<Command, Event, State, Given>) {}

  static for<Command, Event, State, Given = Event>(
    decider: Decider<Command, Event, State, Given>,
  ): DeciderSpecification<Command, Event, State, Given> {
    return new DeciderSpecification(decider);
  }

  given(events: readonly Given[]): { when(command: Command): DeciderOutcome<Event> } {
    const { decider } = this;
    return {
      when: (command) =>
        new DeciderOutcome(() => decider.decide(command, events.reduce(decider.evolve, decider.initialState()))),
    };
  }
}
