/**
 * Topic word bank behind the four synthetic contrasts and the prompt collection.
 *
 * Each topic is written by hand: a question, a one-sentence core answer, concrete detail sentences
 * (what makes a detailed answer detailed), ordered steps (what makes a structured answer
 * structured), and one correct statement with a plausible wrong twin (accurate vs incorrect).
 */
export interface Topic {
  id: string;
  category: string;
  /** The question as a user would ask it. */
  prompt: string;
  /** One sentence that answers the question. */
  core: string;
  /** Concrete, specific supporting sentences. */
  details: readonly string[];
  /** Ordered short steps. */
  steps: readonly string[];
  /** A true statement about the topic. */
  fact: string;
  /** A confident but wrong statement on the same point. */
  wrong: string;
}

export const TOPICS: readonly Topic[] = [
  {
    id: 'boil-egg', category: 'cooking', prompt: 'How do I make a soft-boiled egg?',
    core: 'Lower the egg into boiling water and cook it for about six minutes.',
    details: [
      'Starting from boiling water rather than cold water makes the timing repeatable.',
      'Six minutes gives a set white and a runny yolk for a large egg straight from the fridge.',
      'Moving the egg into ice water for one minute stops the cooking and makes peeling easier.',
      'Older eggs peel more cleanly than very fresh ones because the membrane loosens with age.',
    ],
    steps: ['Bring a small pot of water to a rolling boil.', 'Lower the egg in gently with a spoon.', 'Set a timer for six minutes.', 'Cool the egg in ice water for one minute, then peel.'],
    fact: 'A large egg needs roughly six minutes in boiling water for a runny yolk.',
    wrong: 'A large egg needs roughly fifteen minutes in boiling water for a runny yolk.',
  },
  {
    id: 'rice', category: 'cooking', prompt: 'What is the right way to cook white rice on the stove?',
    core: 'Rinse the rice, simmer it covered with the right amount of water, then let it rest.',
    details: [
      'Rinsing removes surface starch, which keeps the grains from turning gummy.',
      'Long-grain white rice usually takes about one and a half cups of water per cup of rice.',
      'Keeping the lid on for the whole simmer traps the steam that finishes the grains.',
      'Resting the pot off the heat for ten minutes lets the moisture even out.',
    ],
    steps: ['Rinse the rice until the water runs mostly clear.', 'Add rice and water to the pot and bring to a boil.', 'Cover, turn the heat to low and simmer for fifteen minutes.', 'Rest off the heat for ten minutes, then fluff with a fork.'],
    fact: 'Long-grain white rice cooks in about fifteen minutes at a low simmer.',
    wrong: 'Long-grain white rice cooks in about two minutes at a low simmer.',
  },
  {
    id: 'bread-stale', category: 'cooking', prompt: 'How should I store bread so it stays fresh?',
    core: 'Keep bread at room temperature in a bag for a few days, and freeze what you will not eat soon.',
    details: [
      'The refrigerator speeds up staling because starch recrystallises fastest near fridge temperature.',
      'A paper bag keeps the crust crisp, while a plastic bag keeps the crumb soft.',
      'Slicing before freezing lets you toast single slices straight from the freezer.',
      'Frozen bread keeps its quality for about three months when it is wrapped tightly.',
    ],
    steps: ['Eat what you can within two or three days.', 'Slice the rest of the loaf.', 'Wrap the slices tightly and freeze them.', 'Toast slices straight from the freezer when needed.'],
    fact: 'Bread goes stale faster in the refrigerator than on the counter.',
    wrong: 'Bread goes stale slower in the refrigerator than anywhere else.',
  },
  {
    id: 'python-list-sort', category: 'programming', prompt: 'How do I sort a list of dictionaries by a key in Python?',
    core: 'Call sorted with a key function that returns the field you want to sort by.',
    details: [
      'sorted(items, key=lambda item: item["age"]) returns a new sorted list and leaves the original alone.',
      'items.sort(key=...) sorts the list in place and returns None.',
      'Passing reverse=True sorts from largest to smallest.',
      'operator.itemgetter("age") is a slightly faster alternative to the lambda.',
    ],
    steps: ['Decide which key to sort by.', 'Write a key function such as lambda item: item["age"].', 'Call sorted(items, key=that_function).', 'Add reverse=True if you need descending order.'],
    fact: 'Python\'s sorted function is stable, so equal keys keep their original order.',
    wrong: 'Python\'s sorted function is unstable, so equal keys end up in random order.',
  },
  {
    id: 'git-undo', category: 'programming', prompt: 'How can I undo my last git commit but keep the changes?',
    core: 'Run git reset --soft HEAD~1 to remove the commit and keep its changes staged.',
    details: [
      'The --soft flag moves the branch pointer back without touching the index or the working tree.',
      'git reset --mixed HEAD~1 also keeps the changes but unstages them.',
      'If the commit was already pushed, git revert creates a new commit that undoes it safely.',
      'git reflog shows earlier positions of HEAD in case you need to recover a commit.',
    ],
    steps: ['Check git log to confirm which commit is last.', 'Run git reset --soft HEAD~1.', 'Inspect the staged changes with git status.', 'Edit and commit again when ready.'],
    fact: 'git reset --soft keeps the undone changes staged in the index.',
    wrong: 'git reset --soft permanently deletes the undone changes from disk.',
  },
  {
    id: 'js-equality', category: 'programming', prompt: 'What is the difference between == and === in JavaScript?',
    core: 'The double equals compares after type conversion, while the triple equals compares without converting types.',
    details: [
      'For example 0 == "0" is true, but 0 === "0" is false.',
      'null == undefined is true, while null === undefined is false.',
      'NaN is not equal to itself under either operator; use Number.isNaN instead.',
      'Most style guides recommend === because its behaviour is easier to predict.',
    ],
    steps: ['Check whether the two values can have different types.', 'Prefer === for ordinary comparisons.', 'Use == null only when you mean null or undefined.', 'Use Number.isNaN to test for NaN.'],
    fact: 'In JavaScript, 0 == "0" is true but 0 === "0" is false.',
    wrong: 'In JavaScript, 0 == "0" is false but 0 === "0" is true.',
  },
  {
    id: 'sql-index', category: 'programming', prompt: 'When should I add an index to a database table?',
    core: 'Add an index on columns you filter, join or sort by often, when the table is large enough for scans to hurt.',
    details: [
      'An index lets the database find matching rows without reading the whole table.',
      'Each index slows down inserts and updates a little because it must be maintained.',
      'Columns with many distinct values benefit more than columns with only a few.',
      'Running EXPLAIN on a slow query shows whether it uses an index or a full scan.',
    ],
    steps: ['Find the slow queries in your logs.', 'Run EXPLAIN to see how they execute.', 'Add an index on the filtered or joined column.', 'Measure the query again and keep the index only if it helps.'],
    fact: 'Every extra index adds a small cost to inserts and updates.',
    wrong: 'Indexes make inserts and updates faster, so you should index every column.',
  },
  {
    id: 'sleep', category: 'health', prompt: 'How much sleep does an adult need?',
    core: 'Most adults need seven to nine hours of sleep a night.',
    details: [
      'Regularly sleeping under seven hours is linked to poorer concentration and mood.',
      'A consistent wake-up time, even on weekends, makes falling asleep easier.',
      'Bright screens late at night can delay the release of melatonin.',
      'Caffeine has a half-life of about five hours, so an afternoon coffee can still affect sleep.',
    ],
    steps: ['Pick a fixed wake-up time.', 'Count back eight hours to set a bedtime.', 'Dim screens and lights an hour before bed.', 'Avoid caffeine after early afternoon.'],
    fact: 'Most adults need seven to nine hours of sleep each night.',
    wrong: 'Most adults need only four hours of sleep each night.',
  },
  {
    id: 'hydration', category: 'health', prompt: 'How much water should I drink each day?',
    core: 'Drink when you are thirsty and aim for pale yellow urine; needs vary with heat, activity and body size.',
    details: [
      'Food, tea and coffee also count toward daily fluid intake.',
      'People who exercise hard or live in hot climates need noticeably more.',
      'Very dark urine is a simple sign that you should drink more.',
      'Drinking extreme amounts in a short time can dangerously lower blood sodium.',
    ],
    steps: ['Keep a water bottle within reach.', 'Drink with each meal.', 'Add extra water around exercise.', 'Check urine colour as a rough guide.'],
    fact: 'Tea and coffee count toward your daily fluid intake.',
    wrong: 'Tea and coffee dehydrate you so much that they do not count toward fluid intake at all.',
  },
  {
    id: 'cold-vs-flu', category: 'health', prompt: 'How can I tell a cold from the flu?',
    core: 'The flu usually starts suddenly with fever and body aches, while a cold comes on gradually with a runny nose.',
    details: [
      'A high fever and strong muscle aches point toward the flu.',
      'Sneezing and a stuffy nose are more typical of a cold.',
      'Flu fatigue can last two weeks, while a cold usually clears within a week.',
      'Antibiotics do not help either illness because both are caused by viruses.',
    ],
    steps: ['Notice how quickly the symptoms started.', 'Check for a fever.', 'Rest and drink fluids.', 'See a doctor if breathing becomes difficult.'],
    fact: 'Colds and the flu are caused by viruses, so antibiotics do not treat them.',
    wrong: 'Colds and the flu are caused by bacteria, so antibiotics cure them quickly.',
  },
  {
    id: 'budget', category: 'finance', prompt: 'How do I start a monthly budget?',
    core: 'List your income, track a month of spending, then give every expense category a limit.',
    details: [
      'The 50/30/20 rule splits take-home pay into needs, wants and savings.',
      'Tracking real spending for one month usually reveals a few surprise categories.',
      'Automatic transfers to savings on payday make saving the default.',
      'An emergency fund of three to six months of expenses protects the budget from shocks.',
    ],
    steps: ['Write down your monthly take-home pay.', 'Track every expense for one month.', 'Set a limit for each category.', 'Review and adjust at the end of each month.'],
    fact: 'An emergency fund is usually sized at three to six months of expenses.',
    wrong: 'An emergency fund is usually sized at three to six days of expenses.',
  },
  {
    id: 'compound-interest', category: 'finance', prompt: 'What is compound interest?',
    core: 'Compound interest is interest earned on both the original amount and the interest already added.',
    details: [
      'At five percent a year, 1000 dollars grows to about 1629 dollars after ten years.',
      'The rule of 72 estimates doubling time: divide 72 by the yearly rate.',
      'More frequent compounding gives a slightly higher effective rate.',
      'The same effect makes unpaid credit card balances grow quickly.',
    ],
    steps: ['Start with the principal.', 'Add the interest for the first period.', 'Earn the next period\'s interest on the new total.', 'Repeat for every period.'],
    fact: 'With compound interest you earn interest on previously added interest.',
    wrong: 'With compound interest you only ever earn interest on the original deposit.',
  },
  {
    id: 'credit-score', category: 'finance', prompt: 'How can I improve my credit score?',
    core: 'Pay every bill on time and keep your credit card balances low relative to their limits.',
    details: [
      'Payment history is the largest single factor in most scoring models.',
      'Using less than thirty percent of your available credit helps your score.',
      'Keeping old accounts open lengthens your credit history.',
      'Checking your own report does not lower your score.',
    ],
    steps: ['Set up automatic minimum payments.', 'Pay down card balances.', 'Keep old accounts open.', 'Review your credit report for errors once a year.'],
    fact: 'Checking your own credit report does not lower your credit score.',
    wrong: 'Checking your own credit report lowers your credit score every time.',
  },
  {
    id: 'photosynthesis', category: 'science', prompt: 'How does photosynthesis work?',
    core: 'Plants use light energy to turn carbon dioxide and water into sugar, releasing oxygen.',
    details: [
      'Chlorophyll in the chloroplasts absorbs mostly red and blue light.',
      'The light reactions split water and release oxygen as a by-product.',
      'The Calvin cycle uses the captured energy to fix carbon dioxide into sugar.',
      'The overall equation combines six carbon dioxide and six water into one glucose and six oxygen.',
    ],
    steps: ['Chlorophyll absorbs light.', 'Water is split and oxygen is released.', 'Energy carriers are produced.', 'The Calvin cycle builds sugar from carbon dioxide.'],
    fact: 'The oxygen released in photosynthesis comes from splitting water.',
    wrong: 'The oxygen released in photosynthesis comes from the soil through the roots.',
  },
  {
    id: 'seasons', category: 'science', prompt: 'Why does Earth have seasons?',
    core: 'Seasons happen because Earth\'s axis is tilted, so each hemisphere gets more direct sunlight for part of the year.',
    details: [
      'The axis is tilted about 23.4 degrees relative to the orbit.',
      'Direct sunlight spreads the same energy over a smaller area, which heats the ground more.',
      'Summer days are also longer, which adds more hours of heating.',
      'When it is summer in the north, it is winter in the south.',
    ],
    steps: ['Earth orbits the Sun with a tilted axis.', 'One hemisphere leans toward the Sun.', 'That hemisphere gets more direct light and longer days.', 'Half a year later the situation reverses.'],
    fact: 'Seasons are caused by the tilt of Earth\'s axis.',
    wrong: 'Seasons are caused by Earth moving much closer to the Sun in summer.',
  },
  {
    id: 'boiling-point', category: 'science', prompt: 'Why does water boil at a lower temperature on a mountain?',
    core: 'Air pressure is lower at altitude, so water needs less heat before its vapour pressure matches the air.',
    details: [
      'At sea level water boils at 100 degrees Celsius.',
      'At about 3000 metres it boils near 90 degrees Celsius.',
      'Food cooks more slowly at altitude because the water is cooler.',
      'Pressure cookers raise the boiling point by raising the pressure.',
    ],
    steps: ['Boiling starts when vapour pressure equals air pressure.', 'Air pressure falls with altitude.', 'So less heat is needed to reach that point.', 'The water boils at a lower temperature.'],
    fact: 'Water boils at a lower temperature at high altitude.',
    wrong: 'Water boils at a higher temperature at high altitude because it is colder there.',
  },
  {
    id: 'packing', category: 'travel', prompt: 'How do I pack light for a one-week trip?',
    core: 'Pack a small set of clothes that mix and match, and plan to wash something midway.',
    details: [
      'Choosing two colours that all match lets five tops and two bottoms make ten outfits.',
      'Rolling clothes saves space and reduces creases.',
      'Wearing the bulkiest shoes and jacket on the plane frees room in the bag.',
      'Travel-size toiletries or solid bars avoid liquid limits.',
    ],
    steps: ['Check the weather at the destination.', 'Pick a two-colour palette.', 'Lay everything out and remove a third.', 'Roll the clothes and pack the heavy items at the bottom.'],
    fact: 'Carry-on liquids are usually limited to containers of 100 millilitres.',
    wrong: 'Carry-on liquids are usually limited to containers of 5 litres.',
  },
  {
    id: 'jet-lag', category: 'travel', prompt: 'How can I reduce jet lag?',
    core: 'Shift your sleep toward the new time zone before you leave and get daylight at the right times after you arrive.',
    details: [
      'Morning light helps after flying east, and evening light helps after flying west.',
      'Moving bedtime by an hour a day for a few days before the trip reduces the shock.',
      'A short nap under thirty minutes helps without ruining night sleep.',
      'Most people adjust by roughly one time zone per day.',
    ],
    steps: ['Shift bedtime an hour a day before the trip.', 'Set your watch to local time on the plane.', 'Get daylight at the right time after landing.', 'Keep naps short.'],
    fact: 'Most people adjust to a new time zone at roughly one hour per day.',
    wrong: 'Most people adjust to any new time zone instantly after one night.',
  },
  {
    id: 'houseplant', category: 'home', prompt: 'How often should I water a houseplant?',
    core: 'Water when the top few centimetres of soil are dry rather than on a fixed schedule.',
    details: [
      'Overwatering is the most common way houseplants die, because the roots rot.',
      'Pots with drainage holes let extra water escape.',
      'Plants need less water in winter when they grow slowly.',
      'Succulents can go two or three weeks between waterings.',
    ],
    steps: ['Push a finger into the soil.', 'Water only if the top few centimetres are dry.', 'Water until it drains from the bottom.', 'Empty the saucer after a few minutes.'],
    fact: 'Overwatering kills more houseplants than underwatering.',
    wrong: 'Houseplants cannot be overwatered, so more water is always better.',
  },
  {
    id: 'mold', category: 'home', prompt: 'How do I get rid of mold in the bathroom?',
    core: 'Clean the mold off with a suitable cleaner and reduce the moisture that lets it grow.',
    details: [
      'Running the extractor fan for twenty minutes after a shower removes much of the moisture.',
      'A diluted bleach solution or a vinegar spray kills surface mold on tiles.',
      'Never mix bleach with ammonia or vinegar because toxic gases form.',
      'Mold that returns behind silicone usually means the sealant needs replacing.',
    ],
    steps: ['Open a window and wear gloves.', 'Spray the cleaner and leave it for ten minutes.', 'Scrub and rinse the area.', 'Run the fan after every shower.'],
    fact: 'Mixing bleach with ammonia produces toxic gas.',
    wrong: 'Mixing bleach with ammonia makes a stronger and perfectly safe cleaner.',
  },
  {
    id: 'essay', category: 'writing', prompt: 'How do I write a strong introduction for an essay?',
    core: 'Open with a specific hook, give brief context, and end with a clear thesis sentence.',
    details: [
      'A concrete fact or short anecdote draws the reader in better than a broad statement.',
      'The context should be only what the reader needs to follow the argument.',
      'The thesis states your main claim so each paragraph can support it.',
      'Many writers draft the introduction last, once they know what the essay says.',
    ],
    steps: ['Write the thesis first.', 'Choose a specific hook.', 'Add two or three sentences of context.', 'Revise the introduction after finishing the essay.'],
    fact: 'A thesis statement usually appears at the end of the introduction.',
    wrong: 'A thesis statement should be hidden in the conclusion so the reader is surprised.',
  },
  {
    id: 'email', category: 'writing', prompt: 'How do I write a polite follow-up email?',
    core: 'Keep it short, mention the earlier message, and make one clear request.',
    details: [
      'A subject line such as "Following up on the invoice from May 3" helps the reader find the context.',
      'Waiting three to five working days before following up is usually considered polite.',
      'Restating the one thing you need makes a reply easy.',
      'A friendly closing with a specific date keeps the tone warm but clear.',
    ],
    steps: ['Reply in the same thread.', 'Mention the earlier message in one line.', 'State your single request.', 'Thank the reader and suggest a date.'],
    fact: 'A follow-up in the same thread keeps the earlier context visible.',
    wrong: 'A follow-up should never mention the earlier message, or the reader will be offended.',
  },
  {
    id: 'language', category: 'learning', prompt: 'What is the best way to learn vocabulary in a new language?',
    core: 'Review words with spaced repetition and use them in sentences you actually say or write.',
    details: [
      'Spaced repetition schedules reviews just before you would forget a word.',
      'Learning words in phrases gives you grammar and context at the same time.',
      'Twenty minutes every day beats a three-hour session once a week.',
      'Saying words out loud engages memory more than reading silently.',
    ],
    steps: ['Pick words from material you enjoy.', 'Add them to a spaced repetition deck.', 'Review every day for twenty minutes.', 'Use each new word in a sentence.'],
    fact: 'Short daily practice beats rare long sessions for remembering vocabulary.',
    wrong: 'One long session a month is the most effective way to remember vocabulary.',
  },
  {
    id: 'exam', category: 'learning', prompt: 'How should I study for an exam in two weeks?',
    core: 'Make a schedule, test yourself with practice questions, and spread the review over the two weeks.',
    details: [
      'Retrieval practice, such as answering questions from memory, works better than re-reading.',
      'Spacing sessions across days leads to better recall than cramming.',
      'Working through past papers shows what the exam actually asks.',
      'Sleeping well the night before helps consolidate what you learned.',
    ],
    steps: ['List the topics and rate your confidence.', 'Schedule the weakest topics first.', 'Do practice questions every day.', 'Take a full practice exam a few days before.'],
    fact: 'Testing yourself is more effective than re-reading notes.',
    wrong: 'Re-reading notes many times is more effective than testing yourself.',
  },
  {
    id: 'running', category: 'fitness', prompt: 'How do I start running as a beginner?',
    core: 'Begin with short run-walk intervals three times a week and increase slowly.',
    details: [
      'Alternating one minute of running with two minutes of walking builds fitness with less injury risk.',
      'Increasing weekly distance by about ten percent at most lets tendons adapt.',
      'An easy pace should still let you speak in full sentences.',
      'Rest days are when the body repairs and gets stronger.',
    ],
    steps: ['Run one minute, walk two, for twenty minutes.', 'Do this three times a week.', 'Add a little running time each week.', 'Take a rest day between runs.'],
    fact: 'Beginners should raise weekly distance gradually, by about ten percent at most.',
    wrong: 'Beginners should double their weekly distance every week to improve fast.',
  },
  {
    id: 'strength', category: 'fitness', prompt: 'How many times a week should I do strength training?',
    core: 'Two to three sessions a week that work every major muscle group are enough for most people.',
    details: [
      'Muscles need about forty-eight hours to recover after a hard session.',
      'Eight to twelve repetitions per set works well for building muscle.',
      'Adding a little weight or a repetition each week drives progress.',
      'Good form matters more than lifting heavy weights early on.',
    ],
    steps: ['Choose five compound exercises.', 'Do three sets of eight to twelve repetitions.', 'Train two or three days a week.', 'Add weight slowly as form stays solid.'],
    fact: 'Muscles usually need about two days to recover after a hard strength session.',
    wrong: 'Muscles recover within one hour, so you should train the same muscles all day.',
  },
  {
    id: 'stretch', category: 'fitness', prompt: 'Should I stretch before or after exercise?',
    core: 'Do a short dynamic warm-up before exercise and save longer static stretches for afterwards.',
    details: [
      'Leg swings and walking lunges raise body temperature and prepare the joints.',
      'Long static stretches right before sprinting can slightly reduce power.',
      'Holding a static stretch for about thirty seconds improves flexibility over time.',
      'Stretching does not reliably prevent next-day muscle soreness.',
    ],
    steps: ['Walk or jog gently for five minutes.', 'Do dynamic moves such as leg swings.', 'Exercise.', 'Finish with static stretches held for thirty seconds.'],
    fact: 'Stretching does not reliably prevent next-day muscle soreness.',
    wrong: 'Stretching for one minute completely prevents all muscle soreness.',
  },
  {
    id: 'password', category: 'technology', prompt: 'How do I choose a strong password?',
    core: 'Use a long, unique passphrase for every account and keep them in a password manager.',
    details: [
      'Length matters more than symbols; four random words are hard to guess.',
      'Reusing a password means one leak can unlock many accounts.',
      'A password manager generates and remembers unique passwords for you.',
      'Two-factor authentication protects the account even if the password leaks.',
    ],
    steps: ['Install a password manager.', 'Create a long master passphrase.', 'Replace reused passwords one account at a time.', 'Turn on two-factor authentication.'],
    fact: 'A long passphrase of random words is harder to crack than a short complex password.',
    wrong: 'A short password with one symbol is harder to crack than any long passphrase.',
  },
  {
    id: 'battery', category: 'technology', prompt: 'How can I make my phone battery last longer?',
    core: 'Lower screen brightness, limit background activity, and avoid keeping the battery at extremes.',
    details: [
      'The screen is usually the largest single power draw.',
      'Lithium-ion batteries age faster when kept at full charge in the heat.',
      'Many phones offer an option to stop charging at about eighty percent.',
      'Apps refreshing in the background drain power even when you are not using them.',
    ],
    steps: ['Turn on automatic brightness.', 'Restrict background refresh for unused apps.', 'Enable optimised charging.', 'Keep the phone out of hot places.'],
    fact: 'Heat speeds up the ageing of lithium-ion batteries.',
    wrong: 'Heat makes lithium-ion batteries last longer, so charge them in the sun.',
  },
  {
    id: 'backup', category: 'technology', prompt: 'What is a good way to back up my files?',
    core: 'Keep three copies of your data on two kinds of storage, with one copy off site.',
    details: [
      'This is called the 3-2-1 rule.',
      'An external drive with automatic backups protects against a failed laptop disk.',
      'A cloud or off-site copy protects against fire, theft and flooding.',
      'Restoring a test file now and then proves the backup actually works.',
    ],
    steps: ['Buy an external drive.', 'Turn on automatic local backups.', 'Add a cloud or off-site copy.', 'Test a restore every few months.'],
    fact: 'The 3-2-1 rule means three copies, two kinds of storage and one copy off site.',
    wrong: 'The 3-2-1 rule means keeping one copy on a single drive, which is enough.',
  },
];
